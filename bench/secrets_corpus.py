"""A seeded corpus of live-looking keys: every vendor format in every context where keys hide.

    .venv/bin/python bench/secrets_corpus.py --out DIR [--seed 0]

Writes a small repository: one file per format and context (Python, JavaScript, JSON, YAML, TOML
and `.env` files), plus `decoys/`, files dense with strings that look random but are not secrets
(hashes, hex payloads, ETags, UUIDs, example credentials); and, beside DIR, `DIR.seeded.json`: what
was planted where.
Every key is drawn fresh from the seed in its vendor's format, so no detector has seen it before.

Formats without a vendor prefix (an AWS secret key, a Heroku UUID, a Datadog hex key) cannot be told
from random strings without their vendor's name: there the names in each context carry it
(`HEROKU_API_KEY`, `heroku_client(...)`), as they do in real code. Prefixed formats get neutral names.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

ALPHABETS = {
    "a": string.ascii_letters + string.digits,
    "l": string.ascii_lowercase + string.digits,
    "u": string.ascii_uppercase + string.digits,
    "h": "0123456789abcdef",
    "H": "0123456789ABCDEF",
    "d": string.digits,
    "L": string.ascii_letters,
    "x": string.ascii_letters + string.digits + "_-",
    "b": string.ascii_letters + string.digits + "+/",
    "z": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",  # bech32
}
_FIELD = re.compile(r"\{([a-zA-Z])(\d+)\}")


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    template: str  # {a24}: 24 characters of alphabet "a"; see ALPHABETS
    vendor: str = ""  # the vendor's name, used in names where the format has no prefix
    is_url: bool = False  # the key is a URL itself (webhooks, connection strings)
    is_block: bool = False  # a multi-line private key


FORMATS: tuple[Format, ...] = (
    Format("AWS access key", "AKIA{u16}"),
    Format("AWS secret access key", "{b40}", vendor="aws"),
    Format("GitHub classic token", "ghp_{a36}"),
    Format("GitHub OAuth token", "gho_{a36}"),
    Format("GitHub fine-grained token", "github_pat_{a22}_{a59}"),
    Format("GitLab token", "glpat-{x20}"),
    Format("Slack bot token", "xoxb-{d12}-{d13}-{a24}"),
    Format("Slack app token", "xapp-1-A{u10}-{d13}-{h64}"),
    Format("Slack webhook", "https://hooks.slack.com/services/T{u8}/B{u10}/{a24}", is_url=True),
    Format("Stripe secret key", "sk_live_{a24}"),
    Format("Stripe restricted key", "rk_live_{a24}"),
    Format("Stripe webhook secret", "whsec_{a32}"),
    Format("OpenAI project key", "sk-proj-{x48}T3BlbkFJ{x48}"),
    Format("OpenAI classic key", "sk-{a20}T3BlbkFJ{a20}"),
    Format("Anthropic API key", "sk-ant-api03-{x93}AA"),
    Format("Google API key", "AIza{x35}"),
    Format("Google OAuth client secret", "GOCSPX-{x28}"),
    Format("Google OAuth access token", "ya29.{x72}"),
    Format("npm token", "npm_{a36}"),
    Format("PyPI token", "pypi-AgEIcHlwaS5vcmc{x70}"),
    Format("Hugging Face token", "hf_{L34}"),
    Format("SendGrid API key", "SG.{x22}.{x43}"),
    Format("Twilio API key", "SK{h32}"),
    Format("Twilio auth token", "{h32}", vendor="twilio"),
    Format("Shopify access token", "shpat_{h32}"),
    Format("DigitalOcean token", "dop_v1_{h64}"),
    Format("Mailgun API key", "key-{h32}"),
    Format("Mailchimp API key", "{h32}-us{d2}"),
    Format("Square access token", "sq0atp-{x22}"),
    Format("Databricks token", "dapi{h32}"),
    Format("Discord bot token", "M{a23}.{x6}.{x27}", vendor="discord"),
    Format("Discord webhook", "https://discord.com/api/webhooks/{d18}/{x68}", is_url=True),
    Format("Telegram bot token", "{d10}:AA{x33}"),
    Format("Azure AD client secret", "{a3}8Q~{a34}"),
    Format("Alibaba Cloud access key", "LTAI{a20}"),
    Format("Atlassian API token", "ATATT3{x186}"),
    Format("Linear API key", "lin_api_{a40}"),
    Format("Doppler token", "dp.pt.{a43}"),
    Format("Pulumi token", "pul-{h40}"),
    Format("Postman API key", "PMAK-{h24}-{h34}"),
    Format("Grafana service account token", "glsa_{a32}_{h8}"),
    Format("New Relic user key", "NRAK-{u27}"),
    Format("Sentry user token", "sntryu_{h64}"),
    Format("HashiCorp Vault token", "hvs.{x90}"),
    Format("Terraform Cloud token", "{a14}.atlasv1.{x67}"),
    Format("Dynatrace token", "dt0c01.{u24}.{u64}"),
    Format("Fly.io token", "fo1_{x43}"),
    Format("Supabase token", "sbp_{h40}"),
    Format("Replicate token", "r8_{a37}"),
    Format("Groq API key", "gsk_{a52}"),
    Format("Perplexity API key", "pplx-{a48}"),
    Format("xAI API key", "xai-{a80}"),
    Format("Docker Hub token", "dckr_pat_{x27}"),
    Format("RubyGems token", "rubygems_{h48}"),
    Format("NuGet API key", "oy2{l43}"),
    Format("Notion token", "ntn_{d11}{a35}"),
    Format("Airtable token", "pat{a14}.{h64}"),
    Format("Heroku API key", "{h8}-{h4}-{h4}-{h4}-{h12}", vendor="heroku"),
    Format("Datadog API key", "{h32}", vendor="datadog"),
    Format("Cloudflare API token", "{x40}", vendor="cloudflare"),
    Format("Okta API token", "00{x40}", vendor="okta"),
    Format("Age secret key", "AGE-SECRET-KEY-1{z58}"),
    Format("JSON Web Token", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{jwt}.{x43}"),
    Format("PostgreSQL connection string", "postgresql://app:{a20}@db.internal:5432/orders", is_url=True),
    Format("MongoDB connection string", "mongodb+srv://svc:{a24}@cluster0.mongodb.internal/app", is_url=True),
    Format("Redis connection string", "redis://default:{a32}@cache.internal:6379/0", is_url=True),
    Format("Password in a named setting", "{a12}{d2}{a4}", vendor="db_password"),
    Format("RSA private key", "rsa", is_block=True),
    Format("OpenSSH private key", "openssh", is_block=True),
)


def _block(kind: str, rng: random.Random) -> list[str]:
    label = "RSA PRIVATE KEY" if kind == "rsa" else "OPENSSH PRIVATE KEY"
    body = base64.b64encode(rng.randbytes(48 * 14)).decode()
    return [f"-----BEGIN {label}-----", *(body[i : i + 64] for i in range(0, len(body), 64)), f"-----END {label}-----"]


def draw_key(fmt: Format, rng: random.Random) -> tuple[str, tuple[str, ...]]:
    """A fresh key in `fmt`'s format, and its random parts (what must never be seen).

    A private key comes as its lines joined with newlines; its random parts are its body lines."""
    if fmt.is_block:
        lines = _block(fmt.template, rng)
        return "\n".join(lines), tuple(lines[1:-1])
    drawn: list[str] = []

    def field(match: re.Match[str]) -> str:
        alphabet = ALPHABETS[match.group(1)]
        drawn.append("".join(rng.choice(alphabet) for _ in range(int(match.group(2)))))
        return drawn[-1]

    claims = json.dumps({"sub": str(rng.randrange(10**9)), "admin": True}).encode()
    text = fmt.template.replace("{jwt}", base64.urlsafe_b64encode(claims).decode().rstrip("="))
    key = _FIELD.sub(field, text)
    # Short fields (a UUID's groups) are checked as the runs of the key that hold them; digit-only
    # fields (a Slack team's or a Telegram bot's number) are identifiers, and any number would match them.
    return key, tuple(d for d in drawn if len(d) >= 6 and not d.isdigit()) or (key,)


@dataclass(frozen=True, slots=True)
class Planted:
    format: str
    context: str
    path: str
    key: str  # exactly as it stands in the file (a URL-encoded password, escaped newlines ...)
    private: tuple[str, ...]  # the parts that must never be seen: runs of the key after its vendor prefix


def _names(fmt: Format) -> tuple[str, str]:
    """(lower_snake, UPPER_SNAKE) names for a context: the vendor's where the format needs it, else neutral."""
    base = fmt.vendor or "service"
    name = base if base.endswith(("password", "key", "token")) else f"{base}_key"
    return name, name.upper()


def _one_line(key: str) -> str:
    return key.replace("\n", "\\n")


Context = Callable[[Format, str], tuple[str, str]]  # (format, key) -> (file name suffix, text)


def _assignment(fmt: Format, key: str) -> tuple[str, str]:
    _, upper = _names(fmt)
    return ".py", f'"""Settings."""\n\nTIMEOUT = 30\n{upper} = "{_one_line(key)}"\n'


def _call_argument(fmt: Format, key: str) -> tuple[str, str]:
    call = f"{fmt.vendor}_client" if fmt.vendor else "connect"
    return ".py", f'import service\n\nclient = service.{call}("{_one_line(key)}", timeout=10)\n'


def _keyword_argument(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    keyword = name if fmt.vendor else "api_key"
    return ".py", f'from sdk import make_client\n\nclient = make_client({keyword}="{_one_line(key)}", retries=3)\n'


def _environment_default(fmt: Format, key: str) -> tuple[str, str]:
    _, upper = _names(fmt)
    variable = upper if fmt.vendor else "SERVICE"
    return ".py", f'import os\n\nKEY = os.environ.get("{variable}", "{_one_line(key)}")\n'


def _environment_default_js(fmt: Format, key: str) -> tuple[str, str]:
    _, upper = _names(fmt)
    variable = upper if fmt.vendor else "SERVICE"
    return ".js", f'const key = process.env.{variable} || "{_one_line(key)}";\nmodule.exports = {{ key }};\n'


def _dict_value(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    return ".py", f'CONFIG = {{\n    "region": "eu-west-1",\n    "{name}": "{_one_line(key)}",\n}}\n'


def _json_file(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    return ".json", json.dumps({"service": {"region": "eu-west-1", name: key}}, indent=2) + "\n"


def _yaml_file(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    if fmt.is_block:
        lines = "\n".join(f"    {line}" for line in key.split("\n"))
        return ".yaml", f"service:\n  region: eu-west-1\n  {name}: |\n{lines}\n"
    return ".yaml", f"service:\n  region: eu-west-1\n  {name}: {key}\n"


def _toml_file(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    if fmt.is_block:
        return ".toml", f'[service]\nregion = "eu-west-1"\n{name} = """\n{key}\n"""\n'
    return ".toml", f'[service]\nregion = "eu-west-1"\n{name} = "{key}"\n'


def _dotenv_file(fmt: Format, key: str) -> tuple[str, str]:
    _, upper = _names(fmt)
    value = f'"{_one_line(key)}"' if fmt.is_block else key
    return ".env", f"DEBUG=0\n{upper}={value}\n"


def _url_credentials(fmt: Format, key: str) -> tuple[str, str]:
    host = f"api.{fmt.vendor or 'service'}.internal"
    return ".py", f'import requests\n\nBASE = "https://deploy:{quote(key, safe="")}@{host}/v2"\nrequests.get(BASE)\n'


def _comment(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    if fmt.is_block:
        lines = "\n".join(f"# {line}" for line in key.split("\n"))
        return ".py", f"# The staging key, kept here for now:\n{lines}\nRETRIES = 3\n"
    words = name.replace("_", " ") if fmt.vendor else "the staging key"
    return ".py", f"# {words}: {key}\nRETRIES = 3\n"


def _js_comment(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    words = name.replace("_", " ") if fmt.vendor else "staging"
    return ".js", f"// {words} {key}\nexport const retries = 3;\n"


def _docstring(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    words = name.replace("_", " ") if fmt.vendor else "key"
    if fmt.is_block:
        return ".py", f'def sign(data):\n    """Signs with this key:\n\n{key}\n    """\n    return data\n'
    docstring = f'"""Connect to staging with {words} {key} (rotate monthly)."""'
    return ".py", f"def connect():\n    {docstring}\n    return None\n"


def _multiline_string(fmt: Format, key: str) -> tuple[str, str]:
    name, _ = _names(fmt)
    return ".py", f'TEMPLATE = """\n[service]\nregion = eu-west-1\n{name} = {key}\n"""\n'


CONTEXTS: dict[str, Context] = {
    "assignment": _assignment,
    "call argument": _call_argument,
    "keyword argument": _keyword_argument,
    "environment default": _environment_default,
    "environment default (js)": _environment_default_js,
    "dict value": _dict_value,
    "JSON file": _json_file,
    "YAML file": _yaml_file,
    "TOML file": _toml_file,
    ".env file": _dotenv_file,
    "URL credentials": _url_credentials,
    "comment": _comment,
    "comment (js)": _js_comment,
    "docstring": _docstring,
    "multi-line string": _multiline_string,
}
# A private key or a URL-shaped key is not a URL's password, and a key block is not one comment line.
NOT_FOR = {"URL credentials": lambda f: f.is_url or f.is_block, "comment (js)": lambda f: f.is_block}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def plant(root: Path, seed: int = 0) -> list[Planted]:
    """Write every format in every context under `root`; each gets a key of its own."""
    rng = random.Random(seed)
    planted: list[Planted] = []
    for fmt in FORMATS:
        for context, write in CONTEXTS.items():
            if context in NOT_FOR and NOT_FOR[context](fmt):
                continue
            key, private = draw_key(fmt, rng)
            suffix, text = write(fmt, key)
            rel = f"{_slug(context)}/{_slug(fmt.name)}{suffix}"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
            stands = key
            if context == "URL credentials":  # percent-encoded, as a password in a URL must be
                stands, private = quote(key, safe=""), tuple(quote(part, safe="") for part in private)
            planted.append(Planted(fmt.name, context, rel, stands, private))
    write_decoys(root / "decoys", rng)
    return planted


def write_decoys(folder: Path, rng: random.Random) -> int:
    """Files of strings that look random but are no one's credential; returns how many lines they hold."""
    hexes = ["".join(rng.choice("0123456789abcdef") for _ in range(n)) for n in (32, 40, 64, 56)]
    b64 = base64.b64encode(rng.randbytes(30)).decode()
    uuid = "-".join("".join(rng.choice("0123456789abcdef") for _ in range(n)) for n in (8, 4, 4, 4, 12))
    files = {
        "checksums.py": f'SHA256 = "{hexes[2]}"\nsha1 = "{hexes[1]}"\nmd5sum = "{hexes[0]}"\nRUN_ID = "{uuid}"\n',
        "payloads.js": f"test.write(Buffer.from('{hexes[3]}', 'hex'))\n.expect('ETag', 'W/\"3e7-{b64[:27]}\"')\n"
        f"const nonce = '{hexes[0]}';\n",
        "urls.py": 'PROXY = "http://user:pass@proxy.local:3128"\nDSN = "postgres://postgres:postgres@localhost/test"\n'
        'URL = "socks5://user:password@host:1080"\nEXAMPLE = "https://user:changeme@example.com"\n',
        "settings.js": "app.use(session({ secret: 'keyboard cat' }))\nconst password = 'foobar';\n"
        "const token = process.env.TOKEN;\nconst apiKey = config.get('apiKey');\n",
        "config.py": 'SECRET_KEY = os.environ["SECRET_KEY"]\npassword = get_password(user)\n'
        'TOKEN_TYPE = "bearer"\ntokenizer_name = "bert-base-uncased-v2"\napi_key = "your-api-key-here"\n'
        'cache_token = "user_profile_v2"\nPASSWORD_FIELD = "password_confirmation"\n',
        "notes.md": "21225780:EverymajordevelopmentinthehistoryofAmerica\nThe AWS example key AKIAIOSFODNN7EXAMPLE.\n"
        f"Build {hexes[1][:12]} passed; artefact {b64}.\n",
        "vectors.rs": f'let expected = "0123456789abcdefghijklmnopqrstuvwxyz";\nlet digest = "{hexes[2]}";\n',
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return sum(text.count("\n") for text in files.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    planted = plant(args.out, args.seed)
    # What was planted where stays outside the corpus: inside, it would be one more file full of keys.
    manifest = args.out.with_name(args.out.name + ".seeded.json")
    manifest.write_text(json.dumps([asdict(p) for p in planted], indent=1) + "\n")
    formats = len({p.format for p in planted})
    print(f"{len(planted)} keys: {formats} formats in {len(CONTEXTS)} contexts, under {args.out}; list in {manifest}")


if __name__ == "__main__":
    main()
