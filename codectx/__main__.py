from codectx.cli import main

raise SystemExit(main())
