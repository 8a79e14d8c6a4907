"""No secret is committed: every file git tracks is scanned for keys, tokens and passwords."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "cloud access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "token": re.compile(r"\b(ghp|gho|github_pat|xox[abp]|sk)_[A-Za-z0-9_]{20,}"),
    # a URL with a password written in it: only placeholders (password, ${...}, :%s, {password}) pass
    "password in a URL": re.compile(r"://[\w.%-]+:(?!password@|\$\{|%s@|\{)[^@\s/'\"]{4,}@"),
    "password assigned": re.compile(r"(?i)\b\w*(password|secret|passwd)(\s*=|:)\s*['\"][^'\"\s${}]{8,}['\"]"),
    "Fernet key": re.compile(r"\b[A-Za-z0-9_-]{43}=(?!\w)"),
}


def _tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_file_in_the_repository_holds_a_secret():
    files = _tracked_files()
    assert len(files) > 100
    found = []
    for path in files:
        if path.suffix in (".png", ".ttf", ".pdf", ".lock") or path.name == "uv.lock" or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in PATTERNS.items():
            found += [f"{path.relative_to(ROOT)}: {kind}: {m.group(0)[:40]}" for m in pattern.finditer(text)]
    assert found == []


def test_the_scan_finds_what_it_looks_for():
    # put together here, so that this file holds none of them whole
    samples = {"private key": "-----BEGIN RSA " + "PRIVATE KEY-----", "cloud access key": "AKIA" + "ABCDEFGHIJKLMNOP",
               "password in a URL": "postgresql://bank:" + "s3cretvalue@db:5432/warehouse",
               "password assigned": "WAREHOUSE_PASSWORD = " + '"hunter2hunter2"',
               "Fernet key": "ZmDfcTF7_60GrrY167zsiPd67pEv" + "s0aGOv2oasOM1Pg="}
    for kind, sample in samples.items():
        assert PATTERNS[kind].search(sample), kind
    assert not PATTERNS["password in a URL"].search("postgresql://user:password@host:5432/warehouse")
    assert not PATTERNS["password in a URL"].search("postgresql://bank:${WAREHOUSE_PASSWORD:?set}@warehouse")
