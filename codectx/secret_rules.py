"""The rule set of codectx.secrets: vendor key formats, recognised wherever they stand.

A vendor format with a distinctive prefix (`sk_live_`, `ghp_`, `AKIA`, ...) is a secret in any context:
an assignment, a keyword argument, an environment lookup's default, a comment, a YAML value. Formats
without a prefix (a Heroku UUID, a Datadog hex key, an AWS secret key) are told from random strings
only by their vendor's name on the same line, before the value (`near`), as gitleaks does.

Each rule names `keywords`: lower-case literals, one of which every match contains. A text holding
none of them is not searched with the rule's pattern, which keeps a scan fast. The value a rule
masks is its `secret` group; `prefix` is the part of it left visible (`sk_live_****`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_START = r"(?<![A-Za-z0-9_])"
_END = r"(?![A-Za-z0-9_])"
_END_DASH = r"(?![A-Za-z0-9_-])"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
NEAR_CHARS = 80  # how far before a value its vendor's name may stand, on the same line


@dataclass(frozen=True, slots=True)
class VendorRule:
    kind: str
    pattern: re.Pattern[str]  # its `secret` group is what is masked
    keywords: tuple[str, ...]  # lower-case literals every match (or, with `near`, its line) contains
    prefix: re.Pattern[str] | None = None  # the start of the value that stays visible (the vendor's mark)
    near: re.Pattern[str] | None = None  # a vendor name that must precede the value on its line
    min_entropy: float = 0.0  # bits per character the value must reach (for formats without a prefix)
    literal: str = ""  # text every match starts with, case and all: a scan tries the pattern only where it stands


_LEADING_LITERAL = re.compile(r"(?:[A-Za-z0-9_-]|\\\.)+")


def _leading_literal(body: str) -> str:
    """The literal text a pattern body starts with ("SG\\.[A-Z]{22}" -> "SG."), or "" when it starts with
    a group or a class; a character a quantifier follows is left out, being optional or repeated."""
    match = _LEADING_LITERAL.match(body)
    if match is None:
        return ""
    literal = match.group()
    if body[match.end() : match.end() + 1] in ("?", "*", "+", "{"):
        literal = literal[:-2] if literal.endswith("\\.") else literal[:-1]
    return literal.replace("\\.", ".")


def _rule(
    kind: str, body: str, keywords: tuple[str, ...], *, prefix: str = "", near: str | None = None,
    end: str = _END, flags: int = 0, min_entropy: float = 0.0,
) -> VendorRule:  # fmt: skip
    pattern = re.compile(f"{_START}(?P<secret>{body}){end}", flags)
    near_pattern = re.compile(near, re.IGNORECASE) if near else None
    literal = "" if flags else _leading_literal(body)
    return VendorRule(
        kind, pattern, keywords, re.compile(prefix) if prefix else None, near_pattern, min_entropy, literal
    )


VENDOR_RULES: tuple[VendorRule, ...] = (
    # Cloud providers
    _rule("AWS Access Key", r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}", ("akia", "asia", "abia", "acca", "a3t"),
          prefix=r"A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA"),
    _rule("AWS Secret Access Key", r"[A-Za-z0-9/+]{40}", ("aws",), near=r"aws", end=r"(?![A-Za-z0-9/+=])",
          min_entropy=4.0),
    _rule("Google API Key", r"AIza[0-9A-Za-z_-]{35}", ("aiza",), prefix="AIza", end=_END_DASH),
    _rule("Google OAuth Client Secret", r"GOCSPX-[A-Za-z0-9_-]{28}", ("gocspx-",), prefix="GOCSPX-", end=_END_DASH),
    _rule("Google OAuth Access Token", r"ya29\.[0-9A-Za-z_-]{30,}", ("ya29.",), prefix=r"ya29\.", end=_END_DASH),
    _rule("Azure Storage Account Key", r"[A-Za-z0-9+/]{86}==", ("accountkey",), near=r"accountkey\s*=",
          end=r"(?![A-Za-z0-9+/=])"),
    _rule("Azure AD Client Secret", r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}", ("q~",),
          end=r"(?![A-Za-z0-9_~.-])"),
    _rule("Alibaba Cloud Access Key", r"LTAI[A-Za-z0-9]{20}", ("ltai",), prefix="LTAI"),
    _rule("DigitalOcean Token", r"do[opr]_v1_[a-f0-9]{64}", ("dop_v1_", "doo_v1_", "dor_v1_"), prefix=r"do[opr]_v1_"),
    _rule("Heroku API Key", _UUID, ("heroku",), near=r"heroku"),
    _rule("Heroku API Key", r"HRKU-[A-Za-z0-9_-]{60}", ("hrku-",), prefix="HRKU-", end=_END_DASH),
    _rule("Cloudflare API Token", r"[A-Za-z0-9_-]{40}", ("cloudflare",), near=r"cloudflare|\bcf_api", end=_END_DASH,
          min_entropy=4.0),
    _rule("Cloudflare Origin CA Key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", ("v1.0-",), prefix=r"v1\.0-"),
    _rule("Fly.io Token", r"fo1_[A-Za-z0-9_-]{43}", ("fo1_",), prefix="fo1_", end=_END_DASH),
    _rule("Fly.io Token", r"fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}", ("fm1", "fm2"), prefix=r"fm[12][ar]?_"),
    _rule("HashiCorp Vault Token", r"hv[sb]\.[A-Za-z0-9_-]{24,}", ("hvs.", "hvb."), prefix=r"hv[sb]\.", end=_END_DASH),
    _rule("Terraform Cloud Token", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", (".atlasv1.",),
          end=_END_DASH),
    _rule("Pulumi Token", r"pul-[a-f0-9]{40}", ("pul-",), prefix="pul-"),
    _rule("Doppler Token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}", ("dp.",), prefix=r"dp\.[a-z]+\."),
    _rule("Supabase Token", r"sbp_[a-f0-9]{40}", ("sbp_",), prefix="sbp_"),
    # Version control and CI
    _rule("GitHub Token", r"gh[pousr]_[A-Za-z0-9]{36,255}", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
          prefix=r"gh[pousr]_"),
    _rule("GitHub Token", r"github_pat_[A-Za-z0-9_]{22,255}", ("github_pat_",), prefix="github_pat_"),
    _rule("GitLab Token",
          r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|ffct|cit|rtr)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*",
          ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "glcbt-", "glimt-", "glptt-", "glagent-", "gloas-",
           "glffct-", "glcit-", "glrtr-"), prefix=r"gl[a-z]+-", end=_END_DASH),
    _rule("GitLab Token", r"GR1348941[A-Za-z0-9_-]{20}", ("gr1348941",), prefix="GR1348941", end=_END_DASH),
    _rule("Atlassian API Token", r"ATATT3[A-Za-z0-9_=-]{150,}", ("atatt3",), prefix="ATATT3", end=_END_DASH),
    _rule("Docker Hub Token", r"dckr_pat_[A-Za-z0-9_-]{27,}", ("dckr_pat_",), prefix="dckr_pat_", end=_END_DASH),
    # Payments and commerce
    _rule("Stripe Key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,247}", ("sk_live_", "sk_test_", "rk_live_",
          "rk_test_"), prefix=r"[sr]k_(?:live|test)_"),
    _rule("Stripe Webhook Secret", r"whsec_[A-Za-z0-9+/=]{24,}", ("whsec_",), prefix="whsec_"),
    _rule("Square Token", r"sq0(?:atp|csp|idp)-[0-9A-Za-z_-]{22,60}", ("sq0atp-", "sq0csp-", "sq0idp-"),
          prefix=r"sq0[a-z]{3}-", end=_END_DASH),
    _rule("Square Token", r"EAAA[A-Za-z0-9_-]{60}", ("eaaa",), prefix="EAAA", end=_END_DASH),
    _rule("Shopify Token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", ("shpat_", "shpca_", "shppa_", "shpss_"),
          prefix=r"shp[a-z]{2}_"),
    _rule("Facebook Access Token", r"EAA[A-Za-z0-9]{90,}", ("eaa",), prefix="EAA"),
    # Messaging and e-mail
    _rule("Slack Token", r"(?:xox[abposr]-|xoxe(?:\.xox[a-z])?-\d-|xapp-\d-)[A-Za-z0-9-]{10,}",
          ("xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe", "xapp-"), prefix=r"x(?:ox[a-z]|app)-",
          end=_END_DASH),
    _rule("Slack Webhook", r"T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}", ("hooks.slack.com",),
          near=r"hooks\.slack\.com/(?:services|workflows|triggers)/"),
    _rule("Discord Webhook", r"\d{17,20}/[A-Za-z0-9_-]{60,}", ("discord",), near=r"discord(?:app)?\.com/api/webhooks/",
          end=_END_DASH),
    _rule("Discord Bot Token", r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}", ("discord",),
          near=r"discord", end=_END_DASH),
    _rule("Telegram Bot Token", r"\d{8,10}:AA[0-9A-Za-z_-]{33}", (":aa",), end=_END_DASH),
    _rule("SendGrid API Key", r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}", ("sg.",), prefix=r"SG\.", end=_END_DASH),
    _rule("Twilio API Key", r"SK[0-9a-fA-F]{32}", ("sk",), prefix="SK"),
    _rule("Twilio Auth Token", r"[a-f0-9]{32}", ("twilio",), near=r"twilio"),
    _rule("Mailgun API Key", r"key-[0-9a-f]{32}", ("key-",), prefix="key-"),
    _rule("Mailchimp API Key", r"[0-9a-f]{32}-us[0-9]{1,2}", ("-us",)),
    _rule("Postman API Key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", ("pmak-",), prefix="PMAK-"),
    # AI providers
    _rule("Anthropic API Key", r"sk-ant-(?:api|admin|sid|oat|ort)\d\d-[A-Za-z0-9_-]{20,}", ("sk-ant-",),
          prefix="sk-ant-", end=_END_DASH),
    _rule("OpenAI API Key", r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}", ("sk-proj-", "sk-svcacct-",
          "sk-admin-", "sk-none-"), prefix="sk-", end=_END_DASH),
    _rule("OpenAI API Key", r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}", ("t3blbkfj",), prefix="sk-"),
    _rule("API Key (sk-)", r"sk-[A-Za-z0-9]{32,64}", ("sk-",), prefix="sk-", end=_END_DASH, min_entropy=3.5),
    _rule("Hugging Face Token", r"(?:hf_|api_org_)[A-Za-z]{34}", ("hf_", "api_org_"), prefix=r"hf_|api_org_",
          min_entropy=3.5),
    _rule("Replicate Token", r"r8_[A-Za-z0-9]{37}", ("r8_",), prefix="r8_"),
    _rule("Groq API Key", r"gsk_[A-Za-z0-9]{52}", ("gsk_",), prefix="gsk_"),
    _rule("Perplexity API Key", r"pplx-[A-Za-z0-9]{48}", ("pplx-",), prefix="pplx-"),
    _rule("xAI API Key", r"xai-[A-Za-z0-9]{80}", ("xai-",), prefix="xai-"),
    # Package registries
    _rule("npm Token", r"npm_[A-Za-z0-9]{36}", ("npm_",), prefix="npm_"),
    _rule("PyPI Token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}", ("pypi-ageichlwas5vcmc",), prefix="pypi-",
          end=_END_DASH),
    _rule("RubyGems Token", r"rubygems_[a-f0-9]{48}", ("rubygems_",), prefix="rubygems_"),
    _rule("NuGet API Key", r"oy2[a-z0-9]{43}", ("oy2",), prefix="oy2"),
    _rule("Clojars Token", r"CLOJARS_[a-z0-9]{60}", ("clojars_",), prefix="CLOJARS_"),
    # Observability and productivity
    _rule("Datadog API Key", r"[a-f0-9]{32}|[a-f0-9]{40}", ("datadog", "dd_api", "dd_app", "ddog"),
          near=r"datadog|\bdd_ap[ip]|ddog"),
    _rule("New Relic Key", r"NR(?:AK|JS|II)-[A-Za-z0-9]{19,32}", ("nrak-", "nrjs-", "nrii-"), prefix=r"NR[A-Z]{2}-"),
    _rule("Grafana Token", r"glc_[A-Za-z0-9+/]{32,400}={0,2}", ("glc_",), prefix="glc_"),
    _rule("Grafana Token", r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}", ("glsa_",), prefix="glsa_"),
    _rule("Sentry Token", r"sntry[su]_[A-Za-z0-9+/=_]{40,}", ("sntrys_", "sntryu_"), prefix=r"sntry[su]_"),
    _rule("Dynatrace Token", r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}", ("dt0c01.",), prefix=r"dt0c01\."),
    _rule("Databricks Token", r"dapi[a-f0-9]{32}(?:-\d)?", ("dapi",), prefix="dapi"),
    _rule("Linear API Key", r"lin_api_[A-Za-z0-9]{40}", ("lin_api_",), prefix="lin_api_"),
    _rule("Notion Token", r"ntn_[0-9]{11}[A-Za-z0-9]{35}", ("ntn_",), prefix="ntn_"),
    _rule("Notion Token", r"secret_[A-Za-z0-9]{43}", ("secret_",), prefix="secret_", min_entropy=3.5),
    _rule("Airtable Token", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}", ("pat",), prefix="pat"),
    _rule("Okta API Token", r"00[A-Za-z0-9_-]{40}", ("okta",), near=r"okta", end=_END_DASH, min_entropy=4.0),
    _rule("Mapbox Secret Token", r"sk\.eyJ1[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}", ("sk.eyj1",), prefix=r"sk\.",
          end=_END_DASH),
    _rule("Age Secret Key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", ("age-secret-key-1",),
          prefix="AGE-SECRET-KEY-1"),
    # Whole JSON Web Tokens: a base64 JSON header and payload ("eyJ" is '{"'), then the signature.
    _rule("JSON Web Token", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*", ("eyj",), prefix="eyJ",
          end=_END_DASH),
)  # fmt: skip

# Names whose value is a credential, in any case and inside longer names (`DB_PASSWORD`, `apiKey`).
SECRET_NAME = re.compile(
    r"passw(?:or)?d|passphrase|\bpwd|secret|token|api[_.-]?key|access[_.-]?key|auth[_.-]?key|private[_.-]?key"
    r"|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key|credential|\bauth\b|bearer"
)
# What every SECRET_NAME match starts with: a scan finds these literals first, then tries the pattern there.
SECRET_NAME_STARTS = (
    "passw", "passp", "pwd", "secret", "token", "api", "access", "auth", "private", "signing", "encryption",
    "master", "credential", "bearer",
)  # fmt: skip
# Values that stand for a secret without being one.
PLACEHOLDER_WORDS = (
    "example", "placeholder", "changeme", "change_me", "change-me", "your_", "your-", "yourkey", "dummy",
    "xxxx", "****", "....", "redacted", "sample", "<", ">", "{", "}", "%s", "%(", "$(", "env.", "environ",
    "getenv", "secret_key_here", "insert", "replace",
)  # fmt: skip
# Schemes whose URL credentials are a database password.
DATABASE_SCHEMES = frozenset({
    "postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps",
    "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "neo4j", "couchdb", "jdbc:postgresql",
    "jdbc:mysql", "postgresql+psycopg2", "mysql+pymysql",
})  # fmt: skip
