"""Where a price sync spends its time: a full-history sync profiled, summed by function.

    .venv/bin/python bench/profile_sync.py [--funds 300] [--days 1460] [--concurrency 8]
        [--all-samples] [--cprofile]

Sets up like bench/sync.py (the local Eastmoney with latency in its own process, the
PostgreSQL database of BENCH_DATABASE_URL recreated, the ETF list stored), then runs the
full-history price sync in a child process under py-spy (``pip install py-spy``; sampling, all
threads, ``--gil`` unless ``--all-samples``: only samples of the thread holding the GIL, which
is where a CPU-bound Python program's time goes). It prints each thread's share, then the
functions with the largest inclusive and self shares, in the main thread and in the fetch
workers. ``--cprofile`` (or no py-spy) profiles the main thread only, with cProfile.
"""

import argparse
import cProfile
import datetime as dt
import os
import pstats
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import load  # noqa: E402
from bench.sync import FIRST, SHANGHAI, prepare, start_fake  # noqa: E402

SAMPLES_PER_SECOND = 200


def run_sync(args) -> float:
    """The profiled work: the full history into the empty bars table; its seconds."""
    from bench.common import setup_django

    setup_django(args.database, fresh=False)
    from etfs.sync.calendar import previous_trading_day
    from etfs.sync.prices import PriceOptions, sync_etf_prices

    end = dt.date.fromisoformat(args.end)
    now = dt.datetime.combine(end, dt.time(16, 0), SHANGHAI)
    options = PriceOptions(start=FIRST, end=previous_trading_day(end))
    began = time.perf_counter()
    if args.cprofile:
        profile = cProfile.Profile()
        profile.runcall(sync_etf_prices, options, now=now)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    else:
        sync_etf_prices(options, now=now)
    return time.perf_counter() - began


def profile_with_py_spy(args, py_spy: str) -> None:
    raw = Path(tempfile.mkdtemp(prefix="etfsync-profile-")) / "stacks.txt"
    command = [py_spy, "record", "--threads", "--function", "--format", "raw"]
    command += ["--rate", str(SAMPLES_PER_SECOND), "--output", str(raw)]
    if not args.all_samples:
        command.append("--gil")
    command += ["--", *child_command(args)]
    subprocess.run(command, check=True, cwd=ROOT, stderr=subprocess.DEVNULL)
    print_profile(raw.read_text().splitlines(), gil=not args.all_samples)


def child_command(args) -> list[str]:
    command = [sys.executable, __file__, "--child", "--database", args.database]
    return command + ["--end", args.end] + (["--cprofile"] if args.cprofile else [])


def print_profile(lines: list[str], *, gil: bool) -> None:
    """Thread shares, then the top functions by inclusive and by self samples, per thread."""
    stacks, names, parsed = [], {}, []
    for line in lines:
        text, _, count = line.rpartition(" ")
        thread, *frames = text.split(";")
        # "thread (123): MainThread", or "thread (123)" when py-spy missed the name.
        thread_id, _, thread_name = thread.partition(": ")
        names[thread_id] = thread_name or names.get(thread_id, "")
        parsed.append((thread_id, frames, count))
    for thread_id, frames, count in parsed:
        name = "main" if names[thread_id] == "MainThread" else "workers"
        # Keep the sync itself: drop Django's start-up in the main thread.
        if name == "main" and not any("sync_etf_prices" in frame for frame in frames):
            continue
        stacks.append((name, [_function(frame) for frame in frames], int(count)))
    total = sum(count for _, _, count in stacks)
    what = "holding the GIL" if gil else "of all threads"
    print(f"{total} samples {what} ({total / SAMPLES_PER_SECOND:.1f} s at {SAMPLES_PER_SECOND}/s)")
    for thread in ("main", "workers"):
        mine = [(frames, count) for name, frames, count in stacks if name == thread]
        share = sum(count for _, count in mine) / total
        print(f"\n{thread} thread(s): {share:.0%} of the samples; inclusive (self), top 15:")
        inclusive, own = Counter(), Counter()
        for frames, count in mine:
            for frame in set(frames):
                inclusive[frame] += count
            own[frames[-1]] += count
        for frame, count in inclusive.most_common(15):
            print(f"  {count / total:6.1%} ({own[frame] / total:5.1%})  {frame}")
        print("  top self:")
        for frame, count in own.most_common(8):
            print(f"  {count / total:6.1%}  {frame}")


def _function(frame: str) -> str:
    """'parse_kline (etfs/providers/eastmoney.py:166)' -> 'parse_kline (eastmoney.py)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0].rsplit('/', 1)[-1]})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funds", type=int, default=300)
    parser.add_argument("--days", type=int, default=1460)
    parser.add_argument("--latency", type=float, default=0.03)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--port", type=int, default=8798)
    parser.add_argument("--end", default="2026-11-20")
    parser.add_argument("--all-samples", action="store_true", help="not only GIL holders")
    parser.add_argument("--cprofile", action="store_true", help="cProfile, main thread only")
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/etfsync_bench"
        ),
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(f"sync took {run_sync(args):.1f} s")
        return
    os.environ["ETFSYNC_CONCURRENCY"] = str(args.concurrency)
    # The fake sets Django up (for the calendar); DEBUG off wants a real key.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    end = dt.date.fromisoformat(args.end)
    process, url = start_fake(args.port, args.funds, args.days, args.latency, end)
    try:
        prepare(args, url)
        print(f"{args.funds} ETFs, concurrency {args.concurrency}; {load()}")
        py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=Path(sys.executable).parent)
        if py_spy and not args.cprofile:
            profile_with_py_spy(args, py_spy)
        else:
            args.cprofile = True
            subprocess.run(child_command(args), check=True, cwd=ROOT)
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
