"""Fingerprints of one repository's Python sources: an exact content hash and a MinHash signature.

A copy-paste clone keeps the code and changes the name, so the code is what must be compared.
Two fingerprints, both computed from the same files the scanner read:

* ``content_hash``: sha256 over the sorted sha256 digests of the non-empty files' bytes. Paths are
  deliberately left out: a copy that moves ``agents.py`` into ``src/`` (or renames its package) is
  still the same code, and the features the dataset records come from the contents. Sorting the
  per-file digests makes the hash independent of the order the files were read in.
* ``signature``: a MinHash (datasketch, ``affine32`` scheme) of the set of k-token shingles of the
  normalised token stream of each file. Normalising is what lets a *lightly edited* copy still
  match: comments, blank lines and layout are dropped by the tokenizer; prose string literals
  (those with whitespace: prompts, messages, descriptions) become one placeholder token, because
  a clone's first edits are its prompts and project name (the universe's clones differ from their
  source only there), while short strings (dict keys, model names, node names) stay, being
  closer to code; f-strings are always the placeholder; string-only statements (docstrings) are
  dropped, like comments. Identifiers are kept: with them replaced by a placeholder, every
  project of a framework looks alike. :class:`NearDupSettings` gives the measured effect of each
  choice.

Hostile repositories cannot blow up time or memory: each file is read up to ``max_file_bytes``
(cut at a line end), the tokenizer stops after ``max_tokens`` tokens per repository, and a file
that does not tokenise (a syntax error, bytes that are not UTF-8, an unterminated string) falls
back to a linear regular-expression tokenizer instead of failing. A repository with fewer than
``min_tokens`` code tokens gets neither fingerprint: a few lines (an empty package, a one-line
helper, a setup script) are shared by unrelated projects and say nothing about copying.

Stdlib and datasketch only, so the scan stage and the audit can both call it.
"""

from __future__ import annotations

import hashlib
import io
import keyword
import re
import struct
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # datasketch is imported where a signature is made or read: it imports scipy (0.4 s)
    from datasketch import LeanMinHash
from functools import lru_cache

SCHEME = "affine32"  # datasketch's default since 2.0: uint32 values, collision-free permutations
_BYTEORDER = "<"  # stored signatures are little-endian on every machine
STRING = "<str>"  # the placeholder of every string literal when strings are normalised
NAME = "<id>"  # the placeholder of every identifier when identifiers are normalised
_CONTENT_DOMAIN = b"stratum-python-content-v1\n"  # a version tag: a change of the rule changes every hash


_SIGNATURE_KEY = re.compile(
    r"minhash-k(\d+)-p(\d+)-s(\d+)-(all|prose|keep)-id([01])-doc([01])-min(\d+)(?:-files(\d+))?"
)
_FILE_ENTRY = struct.Struct("<8sI")  # one distinctive file: 8 bytes of its normalised-token digest, its token count


@dataclass(frozen=True)
class NearDupSettings:
    """How signatures are computed and compared; stored signatures only compare under equal settings.

    The defaults are the measured best of their alternatives on the offline universe's code families and the
    real copy families (docs/BENCHMARKS.md, "Near-duplicates: how the settings were chosen"): shingles long
    enough that unrelated template code does not look alike, prose strings normalised because clones change
    their prompts, identifiers kept because every project of a framework would look alike without them.
    128 permutations make a 525-byte signature with a standard error of ~0.03 near the threshold.

    Same project (issue 29): an estimate of at least ``sure_threshold`` (0.945) joins; below it
    the stored digests decide exactly — parts (a file cut before each def/class) shared by
    ``threshold`` of the larger code base for a pair estimated >= ``threshold``, or containment
    (files of ``min_file_tokens`` or more shared by ``containment`` of the smaller code base and
    ``grown_share`` of the larger, in ``min_shared_files`` files or all of the smaller's, a file
    held by more than ``common_repos`` projects (code bases not joined by similarity) weighing
    common_repos / holders and never joining alone). ``containment`` sits under the lowest share that keeps a
    real source's latest snapshot in its family, ``grown_share`` over a real template's share of its biggest
    started project (docs/BENCHMARKS.md, "Near-duplicates on real copy families", with their margins).
    """

    shingle_size: int = 10
    num_perm: int = 128
    threshold: float = 0.85
    seed: int = 1
    strings: str = "prose"  # "all": every string literal is the placeholder; "prose": those with whitespace; "keep"
    normalise_identifiers: bool = False
    drop_docstrings: bool = True
    min_tokens: int = 50
    max_tokens: int = 200_000
    max_file_bytes: int = 1 << 20
    verify_pairs: bool = True  # clusters: keep an LSH candidate pair only if its estimated Jaccard >= threshold
    # Containment (a copy that grew, an older snapshot of an evolving source), decided on the exact per-file digests:
    min_file_tokens: int = 50  # a smaller file (an empty __init__, a conftest, a stub) is boilerplate, never a tie
    max_files: int = 4096  # file digests, and part digests, stored per repository (the largest): 48 KiB each at most
    containment: float = 0.45  # share of the smaller repository's distinctive code found in the larger one ...
    grown_share: float = 0.1  # ... which must also be this share of the larger one's (a template is not a copy)
    min_shared_files: int = 2  # ... in this many shared files at least, or all of the smaller one's files
    common_repos: int = 5  # a file content more projects hold weighs common_repos / holders, never joins alone

    @property
    def signature_key(self) -> str:
        """What makes two signatures comparable: stored with each, so signatures made under other settings
        (another shingle size, permutation count, seed or normalisation) are never compared."""
        return (
            f"minhash-k{self.shingle_size}-p{self.num_perm}-s{self.seed}-{self.strings}"
            f"-id{int(self.normalise_identifiers)}-doc{int(self.drop_docstrings)}-min{self.min_tokens}"
            f"-files{self.min_file_tokens}"
        )

    @classmethod
    def from_signature_key(cls, key: str, **overrides) -> NearDupSettings:
        """The settings a stored ``signature_key`` was made with (to compare those signatures), plus ``overrides``
        of the comparison-only settings (threshold, verify_pairs). ValueError for a key this code did not write."""
        match = _SIGNATURE_KEY.fullmatch(key or "")
        if match is None:
            raise ValueError(f"not a signature key: {key!r}")
        k, p, seed, strings, ident, doc, least, file_tokens = match.groups()
        if file_tokens is not None:  # keys written before per-file digests have none: their rows carry no digests
            overrides.setdefault("min_file_tokens", int(file_tokens))
        return cls(
            shingle_size=int(k),
            num_perm=int(p),
            seed=int(seed),
            strings=strings,
            normalise_identifiers=ident == "1",
            drop_docstrings=doc == "1",
            min_tokens=int(least),
            **overrides,
        )

    def __post_init__(self) -> None:
        if self.shingle_size < 1 or self.num_perm < 2 or self.min_tokens < 1:
            raise ValueError(f"shingle_size, min_tokens must be >= 1 and num_perm >= 2: {self}")
        if not 0.0 < self.threshold < 1.0:  # LSH needs two bands at least: 0.95 is the highest at 128
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.strings not in ("all", "prose", "keep"):
            raise ValueError(f"strings must be 'all', 'prose' or 'keep', got {self.strings!r}")
        if self.max_tokens < self.min_tokens or self.max_file_bytes < 1:
            raise ValueError(f"max_tokens must be >= min_tokens and max_file_bytes >= 1: {self}")
        if not (0.0 < self.containment <= 1.0 and 0.0 <= self.grown_share <= 1.0):
            raise ValueError(f"containment must be in (0, 1] and grown_share in [0, 1]: {self}")
        if min(self.min_file_tokens, self.max_files, self.min_shared_files, self.common_repos) < 1:
            raise ValueError(f"min_file_tokens, max_files, min_shared_files, common_repos must be >= 1: {self}")

    @property
    def sure_threshold(self) -> float:
        """The estimated Jaccard above which estimator noise cannot have lifted a pair over ``threshold``: three
        standard errors of the MinHash estimate at the threshold (0.945 at 0.85 and 128 permutations). A pair
        estimated between the two is decided on its exact per-file digests, never on the estimate."""
        return min(0.999, self.threshold + 3 * (self.threshold * (1 - self.threshold) / self.num_perm) ** 0.5)


@dataclass(frozen=True)
class Fingerprint:
    """What the scan stores beside a ping: never code, only hashes of it."""

    content_hash: str | None  # hex sha256; None without at least min_tokens code tokens
    signature: bytes | None  # encode_signature() of the MinHash; None likewise
    tokens: int  # normalised code tokens the signature was built from
    truncated: bool  # a cap (max_tokens, max_file_bytes) cut the input short
    files: bytes | None = None  # encode_files(): the digests and token counts of the files; None likewise
    parts: bytes | None = None  # encode_files() of the parts: each file cut before every def and class


def fingerprint(files: Iterable[tuple[str, bytes]], settings: NearDupSettings | None = None) -> Fingerprint:
    """Both fingerprints of a repository's Python files, given as (relative path, bytes) pairs.

    The caller chooses the files (the scanned ``.py`` files); every file given is read as Python.
    """
    settings = settings or NearDupSettings()
    files = sorted(files)  # read once in path order: the token cap then always keeps the same files
    per_file, truncated = repository_tokens(files, settings)
    count = sum(len(tokens) for tokens in per_file)
    if count < settings.min_tokens:
        return Fingerprint(None, None, count, truncated)
    minhash = signature_of(per_file, settings)
    return Fingerprint(
        content_hash(files),
        encode_signature(minhash),
        count,
        truncated,
        encode_files(file_digests(per_file, settings), settings.max_files),
        encode_files(part_digests(per_file), settings.max_files),
    )


def content_hash(files: Iterable[tuple[str, bytes]]) -> str | None:
    """sha256 over the sorted digests of the non-blank files; paths left out (see the module doc)."""
    digests = sorted(hashlib.sha256(data).digest() for _, data in files if data.strip())
    if not digests:
        return None
    return hashlib.sha256(_CONTENT_DOMAIN + b"".join(digests)).hexdigest()


def file_digests(per_file: list[list[str]], settings: NearDupSettings) -> dict[bytes, int]:
    """{digest: tokens} of each distinct file of at least ``min_file_tokens`` normalised tokens.

    The digest is of the normalised tokens, so a copy that only re-indented a file, changed its
    comments or reworded its prompts keeps the file's digest; paths play no part (a moved file is
    the same file). Smaller files (``__init__.py``, a conftest, a stub) are what unrelated projects
    share by the hundred, so they never take part in containment.
    """
    digests: dict[bytes, int] = {}
    for tokens in per_file:
        if len(tokens) >= settings.min_file_tokens:
            digest = hashlib.sha256("\x00".join(tokens).encode("utf-8", "surrogatepass")).digest()[:8]
            digests[digest] = len(tokens)
    return digests


_PART_START = frozenset({"def", "class"})


def part_digests(per_file: list[list[str]]) -> dict[bytes, int]:
    """{digest: tokens} of each distinct part of the files: a file cut before every ``def`` and ``class``.

    Finer than files, for the pairs whose estimate is near the threshold: a copy that renamed three
    of thirty functions keeps 27 parts, where its one file's digest changed.
    """
    digests: dict[bytes, int] = {}
    for tokens in per_file:
        start = 0
        for i in [i for i, token in enumerate(tokens) if token in _PART_START and i > 0] + [len(tokens)]:
            if i > start:
                part = tokens[start:i]
                digests[hashlib.sha256("\x00".join(part).encode("utf-8", "surrogatepass")).digest()[:8]] = len(part)
            start = i
    return digests


def encode_files(digests: dict[bytes, int], cap: int) -> bytes:
    """The ``cap`` largest files (ties by digest), sorted by digest: 12 bytes a file, so bounded by ``cap``."""
    kept = sorted(digests.items(), key=lambda item: (-item[1], item[0]))[:cap]
    return b"".join(_FILE_ENTRY.pack(d, n) for d, n in sorted(kept))


def decode_files(data: bytes | None) -> dict[bytes, int]:
    """The inverse of :func:`encode_files` ({} for None); ValueError for bytes that are not one."""
    if not data:
        return {}
    data = bytes(data)
    if len(data) % _FILE_ENTRY.size:
        raise ValueError(f"not encoded file digests: {len(data)} bytes is not a multiple of {_FILE_ENTRY.size}")
    return dict(_FILE_ENTRY.iter_unpack(data))


def repository_tokens(files: list[tuple[str, bytes]], settings: NearDupSettings) -> tuple[list[list[str]], bool]:
    """Normalised tokens of each file, in order, within the repository's token budget."""
    per_file: list[list[str]]
    budget, per_file, truncated = settings.max_tokens, [], False
    for _, data in files:
        if budget <= 0:
            return per_file, True
        truncated |= len(data) > settings.max_file_bytes
        tokens, read = file_tokens(data, settings, budget)
        budget -= read
        per_file.append(tokens)
    return per_file, truncated or budget <= 0


def file_tokens(data: bytes, settings: NearDupSettings, limit: int) -> tuple[list[str], int]:
    """(normalised tokens, raw tokens read) of one file, reading at most ``limit`` raw tokens.

    The stdlib tokenizer first; a file it refuses is re-read by the fallback tokenizer, so a broken
    file still contributes its code (and a clone carrying the same broken file still matches);
    that tokenizer knows no statements, so it keeps docstrings as string tokens.
    """
    text = decode(head(data, settings.max_file_bytes))
    try:
        return _normalised(tokenize.generate_tokens(io.StringIO(text).readline), settings, limit)
    except (tokenize.TokenError, SyntaxError, ValueError):  # IndentationError is a SyntaxError
        return _fallback_tokens(text, settings, limit)


def head(data: bytes, cap: int) -> bytes:
    """At most ``cap`` bytes, cut after the last line end within them (a UTF-8 character never spans one)."""
    if len(data) <= cap:
        return data
    cut = data.rfind(b"\n", 0, cap)
    return data[: cut + 1] if cut >= 0 else data[:cap]


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM); anything else as Latin-1, which decodes every byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_LAYOUT = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING})
_STATEMENT_END = frozenset({tokenize.NEWLINE, tokenize.ENDMARKER})
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12 splits f-strings into pieces
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def _normalised(tokens: Iterator[tokenize.TokenInfo], settings: NearDupSettings, limit: int) -> tuple[list[str], int]:
    """Code tokens without layout and comments; docstrings dropped, strings and names normalised.

    A statement made only of string literals (a docstring, a bare string used as a comment) is
    held until the statement ends: dropped if nothing else came, emitted otherwise.
    """
    out: list[str] = []
    held: list[str] | None = []  # the current statement's strings while it has nothing else
    read = fstring_depth = 0
    for tok in tokens:
        read += 1
        if read > limit:
            read = limit
            break
        if tok.type == _FSTRING_START or (fstring_depth and tok.type == _FSTRING_END):
            fstring_depth += 1 if tok.type == _FSTRING_START else -1
            if tok.type == _FSTRING_END or fstring_depth > 1:
                continue
            text = STRING  # a 3.12 f-string is one string token, as it is on 3.11
        elif fstring_depth or tok.type in _LAYOUT:
            continue
        elif tok.type in _STATEMENT_END:
            if held and not settings.drop_docstrings:
                out.extend(held)
            held = []
            continue
        else:
            text = _token_text(tok.type, tok.string, settings)
        if held is not None and _is_string(tok) and settings.drop_docstrings:
            held.append(text)
            continue
        if held:
            out.extend(held)
        held = None
        out.append(text)
    return out, read


def _is_string(tok: tokenize.TokenInfo) -> bool:
    return tok.type == tokenize.STRING or tok.type == _FSTRING_START


def _token_text(kind: int, text: str, settings: NearDupSettings) -> str:
    """One token as it enters a shingle."""
    if kind == tokenize.STRING:
        return STRING if _normalise_string(text, settings.strings) else text
    if kind == tokenize.NAME and settings.normalise_identifiers and not _is_keyword(text):
        return NAME
    return text


def _normalise_string(literal: str, mode: str) -> bool:
    """Whether a string literal becomes the placeholder: f-strings always, prose in "prose" mode, all in "all"."""
    if mode == "all" or _is_fstring(literal):
        return True
    return mode == "prose" and any(c.isspace() for c in literal.strip("rRbBuU'\""))


def _is_fstring(literal: str) -> bool:
    """f-strings are always the placeholder: 3.12 tokenises their inside, 3.11 does not."""
    prefix = literal[: len(literal) - len(literal.lstrip("rRbBuUfF"))]
    return "f" in prefix.lower()


def _is_keyword(name: str) -> bool:
    return keyword.iskeyword(name) or keyword.issoftkeyword(name)


# Linear on any input: the string alternatives are unrolled loops, an unterminated string runs to the line end
# (or, triple-quoted, to the end of the text).
_FALLBACK = re.compile(
    r"""
    (?P<comment>\#[^\r\n]*)
  | (?P<string>[rRbBuUfF]{0,2}(?:'''[\s\S]*?(?:'''|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)
        |'[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'?|"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"?))
  | (?P<name>[^\W\d]\w*)
  | (?P<number>\d[\w.]*)
  | (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[-+*/%&|^@=!<>]=|[^\s\w])
""",
    re.VERBOSE,
)
_FALLBACK_KINDS = {"string": tokenize.STRING, "name": tokenize.NAME, "number": tokenize.NUMBER, "op": tokenize.OP}


def _fallback_tokens(text: str, settings: NearDupSettings, limit: int) -> tuple[list[str], int]:
    """Names, numbers, strings and operators of text the stdlib tokenizer refused (comments skipped)."""
    out: list[str] = []
    read = 0
    for match in _FALLBACK.finditer(text):
        read += 1
        if read > limit:
            return out, limit
        if match.lastgroup != "comment":
            # every alternative of _FALLBACK is a named group, so a match always has a lastgroup
            out.append(_token_text(_FALLBACK_KINDS[match.lastgroup], match.group(), settings))  # type: ignore[index]
    return out, read


def shingles(tokens: list[str], size: int) -> set[bytes]:
    """The distinct runs of ``size`` consecutive tokens; a shorter file is one shingle of all its tokens."""
    if not tokens:
        return set()
    if len(tokens) <= size:
        return {"\x00".join(tokens).encode("utf-8", "surrogatepass")}
    return {"\x00".join(tokens[i : i + size]).encode("utf-8", "surrogatepass") for i in range(len(tokens) - size + 1)}


def signature_of(per_file: list[list[str]], settings: NearDupSettings) -> LeanMinHash:
    """MinHash of the union of every file's shingles (shingles never span two files)."""
    from datasketch import LeanMinHash, MinHash

    union: set[bytes] = set()
    for tokens in per_file:
        union |= shingles(tokens, settings.shingle_size)
    minhash = MinHash(
        num_perm=settings.num_perm,
        seed=settings.seed,
        scheme=SCHEME,
        permutations=_permutations(settings.num_perm, settings.seed),
    )
    minhash.update_batch(union)
    return LeanMinHash(minhash)


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int):
    """Drawing the permutations costs more than hashing a small repository: drawn once per settings."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations


def encode_signature(minhash: LeanMinHash) -> bytes:
    """datasketch's LeanMinHash byte format, little-endian: seed, size, scheme, uint32 values (525 bytes at 128)."""
    buffer = bytearray(minhash.bytesize(_BYTEORDER))
    minhash.serialize(buffer, _BYTEORDER)
    return bytes(buffer)


def decode_signature(data: bytes) -> LeanMinHash:
    """The inverse of :func:`encode_signature`; ValueError for bytes that are not one."""
    from datasketch import LeanMinHash

    try:
        minhash = LeanMinHash.deserialize(data, _BYTEORDER)
    except struct.error as exc:
        raise ValueError(f"not an encoded signature ({len(data)} bytes): {exc}") from None
    if minhash.bytesize(_BYTEORDER) != len(data):
        raise ValueError(f"not an encoded signature: {len(data)} bytes for {len(minhash)} values")
    return minhash
