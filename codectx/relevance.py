"""Relevance: rank a generation's files, modules and symbols for a question, or by centrality.

With a question, a file's score mixes three lexical signals, each about [0, 1]:
  - text: BM25 over files, with per-line postings from the full-text index (identifier parts
    indexed), and the file's best passage (the PASSAGE_LINES-line window whose lines hold the most
    of the question's idf), each scaled by the best file's; a file about the question holds its
    words together, a long file that mentions each somewhere does not,
  - symbol names that contain the question's words, as the share of the question's idf they carry,
    more where they hold two of its neighbouring words in a row, less in a file of very many names,
  - path words ("tarfile" for "tar"), likewise,
then adds PageRank over the reference graph personalised to those scores, so files the matches
lean on rise too. Without a question, PageRank alone (centrality) ranks.

Either way a file's score is multiplied by its class's weight (codectx.classes: source first, then
docs and tests, data, licences and key material last; a `.codectx.toml` may change them). Unless the
question asks about tests, tests weigh less than the code they test; unless it asks for an example,
example programs (examples/, demo/, samples/) weigh less than the code they use.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from codectx.catalog import generation_ids
from codectx.classes import DEFAULT_WEIGHTS, query_weights
from codectx.graph import pagerank
from codectx.store import LINE_ROWID_SHIFT, EdgeRow, FileRow, Store
from codectx.terms import (
    MIN_PREFIX,
    WHOLE,
    bare,
    compound_splits,
    form_matches,
    is_whole,
    neighbour_phrases,
    path_words,
    query_forms,
    shorthand_forms,
    split_identifier,
)
from codectx.topics import asked_topics, topic_weight

BM25_K1 = 1.2
BM25_B = 0.75
PASSAGE_LINES = 20  # a file's best window of this many lines is scored beside the whole file
PASSAGE_K1 = 0.5  # a term's repeats within the window saturate fast
PASSAGE_SHARE = 0.5  # the text score: half the whole file's BM25, half its best passage's
SYMBOL_WEIGHT = 0.8
SYMBOL_MORE = 0.25  # a file's second and third matching names add this much of theirs
SYMBOL_CAP = 1.5
SYMBOL_B = 0.75  # names: BM25's length norm over a file's count of definitions...
SYMBOL_POW = 0.25  # ...damped to its fourth root
PHRASE_WEIGHT = 0.5  # two neighbouring words of the question in a row in a name add half their idf
PATH_WEIGHT = 1.0
RANK_WEIGHT = 0.1
FOLDER_SHARE = 0.3  # a question's word in a file's folders only, against one in its name
INDEX_FILES = frozenset({"__init__", "mod", "index", "lib", "main", "__main__"})
NUMBERED_FORMS = 50  # at most this many numbered words (utf8, utf16) per short word
SEED_FILES = 30  # the best lexical matches personalise PageRank
SYMBOL_KINDS_WEIGHT = {"variable": 0.5, "constant": 0.7, "macro": 0.7}
_LINE_MASK = (1 << LINE_ROWID_SHIFT) - 1
# Example programs show the project in use: a question is about the project itself unless it asks
# for an example, so files under these folders weigh this much less than the code they use.
EXAMPLE_DIRS = frozenset({"example", "examples", "_examples", "demo", "demos", "sample", "samples"})
EXAMPLE_WORDS = frozenset({"example", "examples", "demo", "demos", "sample", "samples"})
EXAMPLE_WEIGHT = 0.7


@dataclass(frozen=True, slots=True)
class RankedFile:
    path: str
    module: str
    score: float
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class RankedSymbol:
    path: str
    name: str
    kind: str
    line: int
    end_line: int
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class RankedModule:
    module: str
    score: float  # 1.0 for the best module
    path: str
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class Ranking:
    query: str | None
    terms: tuple[str, ...]
    modules: tuple[RankedModule, ...]
    files: tuple[RankedFile, ...]
    symbols: tuple[RankedSymbol, ...]


@dataclass(slots=True)
class _Evidence:
    """What matched in one file."""

    term_lines: dict[str, int] = field(default_factory=dict)  # term -> matching lines
    first_line: dict[str, int] = field(default_factory=dict)  # term -> first matching line
    symbols: list[RankedSymbol] = field(default_factory=list)
    path_terms: list[str] = field(default_factory=list)


def _scaled(values: dict[str, float]) -> dict[str, float]:
    top = max(values.values(), default=0.0)
    return {k: v / top for k, v in values.items()} if top > 0 else {}


def _fts_phrase(forms: tuple[str, ...]) -> str:
    """An FTS5 query for any of a word's forms: prefixes, or whole words (terms.is_whole); a form of
    several words (a phrase) matches them in a row, each as a prefix or whole alike."""
    return " OR ".join(" + ".join(_fts_word(word) for word in form.split(" ")) for form in forms)


def _fts_word(form: str) -> str:
    return '"' + bare(form).replace('"', '""') + '"' + ("" if is_whole(form) else "*")


@dataclass(frozen=True, slots=True)
class RankBasis:
    """What ranking needs besides the question: a pure function of the generation, so it can be kept."""

    files: dict[str, FileRow]
    paths_of: dict[int, list[str]]  # catalog id -> the generation's paths with that content
    edges: list[EdgeRow]


def rank_basis(store: Store, generation: int) -> RankBasis:
    paths_of: dict[int, list[str]] = defaultdict(list)
    for path, file_id in generation_ids(store, generation).items():
        paths_of[file_id].append(path)
    return RankBasis({f.path: f for f in store.files(generation)}, dict(paths_of), store.edges(generation))


class _Matcher:
    """The generation's files and their index rows, matched against a question's terms."""

    def __init__(self, store: Store, basis: RankBasis) -> None:
        self.store = store
        self.files = basis.files
        self.paths_of = basis.paths_of

    def line_postings(self, term: tuple[str, ...]) -> dict[str, list[int]]:
        """path -> the numbers of its lines that match one term (any of its prefixes), ascending."""
        by_id: dict[int, list[int]] = defaultdict(list)
        term = self.numbered("line_fts", term)
        rows = self.store.db.execute("SELECT rowid FROM line_fts WHERE line_fts MATCH ?", (_fts_phrase(term),))
        for (rowid,) in rows:
            by_id[rowid >> LINE_ROWID_SHIFT].append(rowid & _LINE_MASK)
        postings: dict[str, list[int]] = {}
        for file_id, lines in by_id.items():
            lines.sort()
            for path in self.paths_of.get(file_id, ()):
                postings[path] = lines
        return postings

    def numbered(self, table: str, term: tuple[str, ...]) -> tuple[str, ...]:
        """`term` with the numbered words the index holds for its short forms, which match whole words
        and inflections only (terms.MIN_PREFIX): "utf" also finds utf8 and utf16, "run" run0."""
        short = [bare(form) for form in term if " " not in form and len(bare(form)) == MIN_PREFIX]
        if not short:
            return term
        self.vocabulary({short[0]})  # makes the vocabulary tables
        found: list[str] = []
        for word in short:
            rows = self.store.db.execute(
                f"SELECT term FROM temp.{table}_vocab WHERE term > ? AND term < ? ORDER BY doc DESC LIMIT ?",
                (word + "0", word + ":", NUMBERED_FORMS),
            )
            found += [t + WHOLE for (t,) in rows if t[len(word) :].isdigit()]
        return (*term, *found)

    def vocabulary(self, tokens: set[str]) -> tuple[set[str], set[str]]:
        """Of `tokens`, (those some indexed line holds, those some symbol name or file path holds)."""
        if not tokens:
            return set(), set()
        db = self.store.db
        for table in ("line_fts", "symbol_fts"):
            db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{table}_vocab USING fts5vocab(main, {table}, row)")
        marks = ",".join("?" * len(tokens))
        lines = {t for (t,) in db.execute(f"SELECT term FROM temp.line_fts_vocab WHERE term IN ({marks})", [*tokens])}
        names = {t for (t,) in db.execute(f"SELECT term FROM temp.symbol_fts_vocab WHERE term IN ({marks})", [*tokens])}
        paths = {w for path in self.files for w in path_words(path)}
        return lines, names | (tokens & paths)

    def symbol_counts(self) -> dict[str, int]:
        """path -> how many symbols the file defines."""
        counts: dict[str, int] = {}
        for file_id, count in self.store.db.execute("SELECT file_id, count(*) FROM symbols GROUP BY file_id"):
            for path in self.paths_of.get(file_id, ()):
                counts[path] = count
        return counts

    def symbol_matches(self, term: tuple[str, ...]) -> list[tuple[str, str, str, int, int]]:
        """(path, name, kind, start line, end line) of symbols whose name has a word starting with `term`'s prefixes."""
        rows = self.store.db.execute(
            "SELECT s.file_id, s.name, s.kind, s.start_line, s.end_line FROM symbol_fts "
            "JOIN symbols s ON s.id = symbol_fts.rowid WHERE symbol_fts MATCH ?",
            (_fts_phrase(self.numbered("symbol_fts", term)),),
        )
        return [
            (path, name, kind, start, end)
            for file_id, name, kind, start, end in rows
            for path in self.paths_of.get(file_id, ())
        ]


def _with_shorthands(matcher: _Matcher, question: str, terms: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`terms` with the shorter ways the code writes them (terms.shorthand_forms) that the index holds.

    A shorthand counts when the code both writes it in a line and names something with it (a symbol
    or a file), so a chance prefix does not. It becomes a form of every word it stands for: "mmap"
    matches for "memory" and for "map", as a file named mmap.rs is about both."""
    candidates = shorthand_forms(question)
    lines, names = matcher.vocabulary({form for _, forms in candidates for form in forms})
    by_key = {term[0]: n for n, term in enumerate(terms)}
    terms = list(terms)
    for keys, forms in candidates:
        if not all(key in by_key for key in keys):
            continue
        known = [form for key in keys for form in terms[by_key[key]]]
        found = [f for f in forms if f in lines and f in names and not any(form_matches(f, k) for k in known)]
        for key in keys:
            terms[by_key[key]] = (*terms[by_key[key]], *found)
    return terms


def _with_compounds(matcher: _Matcher, question: str, terms: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`terms` with the two words the code writes for a compound of the question (terms.compound_splits):
    "newline" also matches "new line" and `NewLine` where the index holds both words whole, in a row."""
    candidates = compound_splits(question)
    words = {part for _, splits in candidates for split in splits for part in split}
    lines, _ = matcher.vocabulary(words)
    by_key = {term[0]: n for n, term in enumerate(terms)}
    terms = list(terms)
    for key, splits in candidates:
        if key not in by_key:
            continue
        for first, second in splits:
            if first in lines and second in lines:
                phrase = f"{first}{WHOLE} {second}{WHOLE}"
                if matcher.line_postings((phrase,)):
                    terms[by_key[key]] = (*terms[by_key[key]], phrase)
    return terms


def _idf(total: int, containing: int) -> float:
    return math.log(1 + (total - containing + 0.5) / (containing + 0.5))


def _bm25(
    matcher: _Matcher, terms: list[tuple[str, ...]], evidence: dict[str, _Evidence]
) -> tuple[dict[str, float], dict[str, float]]:
    """BM25 over whole files, and each file's best passage (_passage_score): two scores per file."""
    total = len(matcher.files)
    average = sum(f.lines for f in matcher.files.values()) / max(total, 1)
    scores: dict[str, float] = defaultdict(float)
    hits: dict[str, list[tuple[int, int]]] = defaultdict(list)  # path -> (line, term number)
    idfs: list[float] = []
    for number, term in enumerate(terms):
        postings = matcher.line_postings(term)
        idf = _idf(total, len(postings))
        idfs.append(idf)
        for path, lines in postings.items():
            count, length = len(lines), matcher.files[path].lines
            norm = count * (BM25_K1 + 1) / (count + BM25_K1 * (1 - BM25_B + BM25_B * length / max(average, 1.0)))
            scores[path] += idf * norm
            hits[path].extend((line, number) for line in lines)
            found = evidence[path]
            found.term_lines[term[0]] = count
            found.first_line[term[0]] = lines[0]
    passages = {path: _passage_score(sorted(found), idfs) for path, found in hits.items()}
    return dict(scores), passages


def _passage_score(hits: list[tuple[int, int]], idfs: list[float]) -> float:
    """The best PASSAGE_LINES-line window's score: the idf of each term it holds, saturating with its lines.

    A file about the question holds its words together, in one function and its comment; a long file
    that mentions each word somewhere, far apart, scores well over the whole file but not here."""
    counts = [0] * len(idfs)
    best = current = 0.0
    start = 0
    for line, term in hits:
        while hits[start][0] <= line - PASSAGE_LINES:
            gone = hits[start][1]
            current -= idfs[gone] * (_saturated(counts[gone]) - _saturated(counts[gone] - 1))
            counts[gone] -= 1
            start += 1
        counts[term] += 1
        current += idfs[term] * (_saturated(counts[term]) - _saturated(counts[term] - 1))
        best = max(best, current)
    return best


def _saturated(count: int) -> float:
    return count * (PASSAGE_K1 + 1) / (count + PASSAGE_K1) if count > 0 else 0.0


def _symbol_scores(
    matcher: _Matcher,
    terms: list[tuple[str, ...]],
    evidence: dict[str, _Evidence],
    phrases: list[tuple[str, ...]],
) -> dict[str, float]:
    """A symbol scores the idf of the terms its name contains, times the share of its name they cover."""
    total = len(matcher.files)
    matched: dict[tuple[str, str, str, int, int], set[str]] = defaultdict(set)
    idf: dict[str, float] = {}
    for term in terms:
        hits = matcher.symbol_matches(term)
        idf[term[0]] = _idf(total, len({h[0] for h in hits}))
        for hit in hits:
            matched[hit].add(term[0])
    whole = sum(idf.values()) or 1.0
    for phrase in phrases:
        # Neighbouring words of the question that a name runs together (_detect_program_name for
        # "program name") say more than the same words apart: the phrase adds its own idf.
        words = phrase[0].split(" ")  # in a row in the name itself, not across its indexed parts
        hits = [
            hit for hit in matcher.symbol_matches(phrase) if _path_holds(split_identifier(hit[1]), (), set(), words)
        ]
        idf[phrase[0]] = PHRASE_WEIGHT * _idf(total, len({h[0] for h in hits}))
        for hit in hits:
            matched[hit].add(phrase[0])
    per_file: dict[str, list[RankedSymbol]] = defaultdict(list)
    for (path, name, kind, start, end), found in matched.items():
        parts = max(len(split_identifier(name)), 1)
        covered = {word for term in found for word in term.split(" ")}  # a phrase term covers its words
        coverage = min(1.0, len(covered) / parts)
        score = sum(idf[t] for t in found) * math.sqrt(coverage) * SYMBOL_KINDS_WEIGHT.get(kind, 1.0)
        reason = f"{kind} name matches {', '.join(repr(t) for t in sorted(found))}"
        per_file[path].append(RankedSymbol(path, name, kind, start, end, score, reason))
    scores: dict[str, float] = {}
    counts = matcher.symbol_counts()
    average = sum(counts.values()) / max(len(counts), 1)
    for path, symbols in per_file.items():
        symbols.sort(key=lambda s: (-s.score, s.line))
        evidence[path].symbols = symbols
        best = [s.score for s in symbols[:3]]
        score = (best[0] + SYMBOL_MORE * sum(best[1:])) / whole
        # Like BM25's length norm, for names: one match among a file's hundreds of definitions (a
        # table of every flag) says less than one among a dozen; damped, as names are few and precise.
        score /= (1 - SYMBOL_B + SYMBOL_B * counts.get(path, 0) / max(average, 1.0)) ** SYMBOL_POW
        scores[path] = min(SYMBOL_CAP, score)
    return scores


def _path_scores(matcher: _Matcher, terms: list[tuple[str, ...]], evidence: dict[str, _Evidence]) -> dict[str, float]:
    words = {path: path_words(path) for path in matcher.files}
    names = {path: _name_words(path) for path in matcher.files}
    total = len(words)
    scores: dict[str, float] = defaultdict(float)
    whole = 0.0
    for term in terms:
        prefixes = tuple(f for f in term if not is_whole(f))
        wholes = {bare(f) for f in term if is_whole(f)}
        phrase = term[0].split(" ") if " " in term[0] else None
        hits = [path for path, parts in words.items() if _path_holds(parts, prefixes, wholes, phrase)]
        idf = _idf(total, len(hits))
        whole += idf
        for path in hits:
            # The file's own name says more than the folders it shares with its neighbours.
            named = _path_holds(names[path], prefixes, wholes, phrase)
            scores[path] += idf * (1.0 if named else FOLDER_SHARE)
            evidence[path].path_terms.append(term[0])
    return {path: score / whole for path, score in scores.items()}


def _path_holds(parts: list[str], prefixes: tuple[str, ...], wholes: set[str], phrase: list[str] | None) -> bool:
    """Whether a path's words match a term: a word of the term's forms, or for a phrase (`res.send`,
    `get_current_context`) its words in a row, the last as a prefix (test/res.send.js)."""
    if phrase is None:
        return any(w.startswith(prefixes) or w in wholes for w in parts)
    size = len(phrase)
    return any(
        all(part.startswith(word) for part, word in zip(parts[i : i + size], phrase, strict=True))
        for i in range(len(parts) - size + 1)
    )


def _name_words(path: str) -> list[str]:
    """Words of the file's name; for a package's index file (__init__.py, mod.rs, index.js), its folder's."""
    words = path_words(path.rpartition("/")[2])
    if len(path.split("/")) > 1 and words and words[0] in INDEX_FILES:
        words = path_words(path.rsplit("/", 2)[-2])
    return words


def _reason(evidence: _Evidence) -> tuple[str, int]:
    parts: list[str] = []
    line = 1
    if evidence.symbols:
        best = evidence.symbols[0]
        parts.append(f"defines {best.name} ({best.kind} name matches)")
        line = best.line
    if evidence.term_lines:
        ranked = sorted(evidence.term_lines.items(), key=lambda kv: -kv[1])
        parts.append("text matches " + ", ".join(f"{t!r} x{n}" for t, n in ranked[:4]))
        if not evidence.symbols:
            rarest = min(evidence.term_lines, key=lambda t: evidence.term_lines[t])
            line = evidence.first_line[rarest]
    if evidence.path_terms:
        parts.append("path matches " + ", ".join(repr(t) for t in evidence.path_terms))
    return "; ".join(parts) or "referenced by matching files", line


def _modules(files: list[RankedFile]) -> tuple[RankedModule, ...]:
    """A module scores its best file (the answer is in one place); its other files only break ties."""
    by_module: dict[str, list[RankedFile]] = defaultdict(list)
    for ranked in files:
        by_module[ranked.module].append(ranked)
    raw = []
    for module, members in by_module.items():
        members.sort(key=lambda f: -f.score)
        raw.append((members[0].score, sum(f.score for f in members[1:4]), module, members[0]))
    raw.sort(key=lambda r: (-r[0], -r[1], r[2]))
    top = raw[0][0] if raw and raw[0][0] > 0 else 1.0
    return tuple(
        RankedModule(module, round(score / top, 6), best.path, best.line, f"{best.path}: {best.reason}")
        for score, _, module, best in raw
    )


# --- recency: how lately a file changed (codectx.history), a small nudge on top of relevance ---------

RECENCY_WEIGHT = 0.1  # a file changed just now scores at most 10% more: it breaks ties, never outranks a clear match


def recency_factor(recency: Mapping[str, float] | None, path: str) -> float:
    """1 + RECENCY_WEIGHT x the file's recency in [0, 1] (codectx.history.recency_scores); 1 without history."""
    if not recency:
        return 1.0
    return 1.0 + RECENCY_WEIGHT * min(max(recency.get(path, 0.0), 0.0), 1.0)


def centrality(
    store: Store,
    generation: int,
    basis: RankBasis | None = None,
    weights: Mapping[str, float] | None = None,
    recency: Mapping[str, float] | None = None,
) -> Ranking:
    """Files and modules ranked by PageRank over the reference graph, times their class weights (and recency)."""
    basis = basis or rank_basis(store, generation)
    weights = weights or DEFAULT_WEIGHTS
    files, edges = list(basis.files.values()), basis.edges
    ranks = pagerank([f.path for f in files], edges)
    ranks = {f.path: ranks.get(f.path, 0.0) * weights.get(f.kind, 1.0) * recency_factor(recency, f.path) for f in files}
    referrers: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        referrers[edge.target].add(edge.source)
    ranked = [
        RankedFile(f.path, f.module, ranks.get(f.path, 0.0), 1, f"referenced by {len(referrers[f.path])} files")
        for f in files
    ]
    ranked.sort(key=lambda r: (-r.score, r.path))
    by_module: dict[str, float] = defaultdict(float)
    best: dict[str, RankedFile] = {}
    for item in ranked:
        by_module[item.module] += item.score
        best.setdefault(item.module, item)
    order = sorted(by_module, key=lambda m: (-by_module[m], m))
    top = by_module[order[0]] if order and by_module[order[0]] > 0 else 1.0
    modules = tuple(
        RankedModule(m, round(by_module[m] / top, 6), best[m].path, 1, f"central: {best[m].path} {best[m].reason}")
        for m in order
    )
    return Ranking(None, (), modules, tuple(ranked), ())


def rank(
    store: Store,
    generation: int,
    query: str | None,
    basis: RankBasis | None = None,
    weights: Mapping[str, float] | None = None,
    recency: Mapping[str, float] | None = None,
) -> Ranking:
    """Rank the generation for `query`; without one (or without usable words), by centrality.

    `basis` (rank_basis of this generation) saves reading the generation's files and graph again.
    `weights` are the class weights (codectx.classes.load_weights; default DEFAULT_WEIGHTS).
    `recency` (path -> [0, 1], codectx.history.recency_scores) nudges recently changed files up."""
    basis = basis or rank_basis(store, generation)
    weights = query_weights(weights or DEFAULT_WEIGHTS, query)
    terms = query_forms(query or "")
    if not terms:
        ranking = centrality(store, generation, basis, weights, recency)
        return Ranking(query, (), ranking.modules, ranking.files, ranking.symbols)
    matcher = _Matcher(store, basis)
    terms = _with_shorthands(matcher, query or "", terms)
    terms = _with_compounds(matcher, query or "", terms)
    known = {term[0] for term in terms}
    phrases = [phrase for phrase in neighbour_phrases(query or "") if phrase[0] not in known]
    evidence: dict[str, _Evidence] = defaultdict(_Evidence)
    whole, passages = _bm25(matcher, terms, evidence)
    whole, passages = _scaled(whole), _scaled(passages)
    text = {path: (1 - PASSAGE_SHARE) * whole[path] + PASSAGE_SHARE * passages.get(path, 0.0) for path in whole}
    names = _symbol_scores(matcher, terms, evidence, phrases)
    paths = _path_scores(matcher, terms, evidence)
    lexical = {
        path: text.get(path, 0.0) + SYMBOL_WEIGHT * names.get(path, 0.0) + PATH_WEIGHT * paths.get(path, 0.0)
        for path in set(text) | set(names) | set(paths)
    }
    examples = EXAMPLE_WEIGHT if not EXAMPLE_WORDS & set((query or "").lower().split()) else 1.0
    for path in lexical:
        if examples < 1.0 and EXAMPLE_DIRS.intersection(path.split("/")[:-1]):
            lexical[path] *= examples
    seeds = dict(sorted(lexical.items(), key=lambda kv: -kv[1])[:SEED_FILES])
    graph_rank = _scaled(pagerank(sorted(matcher.files), basis.edges, seeds)) if seeds else {}
    topics = asked_topics(query)
    ranked: list[RankedFile] = []
    for path, row in matcher.files.items():
        weight = topic_weight(topics, path, row.kind, weights.get(row.kind, 1.0))
        score = (lexical.get(path, 0.0) + RANK_WEIGHT * graph_rank.get(path, 0.0)) * weight
        score *= recency_factor(recency, path)
        if score <= 0:
            continue
        reason, line = _reason(evidence[path]) if path in evidence else ("referenced by matching files", 1)
        ranked.append(RankedFile(path, row.module, round(score, 6), line, reason))
    ranked.sort(key=lambda r: (-r.score, r.path))
    file_score = {r.path: r.score for r in ranked}
    symbols = [s for path in evidence for s in evidence[path].symbols]
    symbols.sort(key=lambda s: (-(s.score * (1 + file_score.get(s.path, 0.0))), s.path, s.line))
    return Ranking(query, tuple(t[0] for t in terms), _modules(ranked), tuple(ranked), tuple(symbols))
