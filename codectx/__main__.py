from codectx.cli import run

run()
