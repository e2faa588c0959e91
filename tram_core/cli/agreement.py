"""The ``agreement`` command: the team's label-quality figures as the Agreement page shows them (agreement with
intervals at technique and parent level, the adjudication queue, suggestion acceptance, throughput), as a readable
summary, CSV or JSON."""

from __future__ import annotations

import argparse
import sys

from tram_core.cli.common import acting, open_store, score_text, table
from tram_core.views.agreement import Estimate

TOP = 10  # techniques and pairs in the readable summary


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``agreement [--report ID] [--format text|csv|json]`` to the ``python -m tram_core`` parser."""
    p = sub.add_parser("agreement", help="how far independent answers agree, the adjudication queue, suggestion "
                                         "acceptance and throughput",
                       description="Agreement between annotators on double-annotated sentences (Cohen's kappa per "
                                   "technique and per pair, Krippendorff's alpha with MASI and Jaccard distances, "
                                   "identical answers), each with the sentences behind it and a 95%% bootstrap "
                                   "interval, at technique and parent-technique level; the sentences waiting for "
                                   "adjudication; what reviewers did with each model's suggestions; sentences "
                                   "answered per hour per person and each report's time to fully answered.")
    p.add_argument("--report", type=int, default=None, metavar="ID", help="only this report (default: every one)")
    p.add_argument("--format", choices=("text", "csv", "json"), default="text",
                   help="text (a readable summary, the default), csv (one row per figure) or json")
    p.add_argument("--resamples", type=int, default=1000, metavar="N",
                   help="bootstrap resamples behind each interval (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="the bootstrap's seed (default 0: the same run, the same "
                                                      "intervals)")
    p.set_defaults(handler=cmd_agreement)


def _estimate(e: Estimate) -> str:
    return e.text(digits=3)


def _summary_text(figures) -> str:
    lines = []
    for level, s in figures.summaries.items():
        lines.append(f"{level} level: {s.sentences} sentence(s) answered by two annotators")
        lines.append(f"  identical answers  {_estimate(s.agreement)}")
        lines.append(f"  alpha (MASI)       {_estimate(s.alpha_masi)}")
        lines.append(f"  alpha (Jaccard)    {_estimate(s.alpha_jaccard)}")
        if s.techniques:
            rows = [[t.technique, t.disagreements, t.labelled, _estimate(t.kappa)] for t in s.techniques[:TOP]]
            lines.append(_indent(table(["technique", "disagreements", "labelled in", "kappa"], rows)))
        if s.pairs:
            rows = [[p.name, _estimate(p.agreement), _estimate(p.kappa), _estimate(p.alpha_masi)]
                    for p in s.pairs[:TOP]]
            lines.append(_indent(table(["pair", "identical answers", "kappa", "alpha (MASI)"], rows)))
    lines.append(f"adjudication: {figures.pending_adjudication} sentence(s) whose two answers differ wait for a "
                 "reviewer")
    if figures.acceptance:
        rows = [[a["model"], a["technique"], a["accepted"], a["rejected"], a["added (missed)"],
                 score_text(a["acceptance"]), score_text(a["live precision"]), score_text(a["live recall"])]
                for a in figures.acceptance if a["technique"] == "*"]
        lines.append(table(["model", "techniques", "accepted", "rejected", "added (missed)", "acceptance",
                            "live precision", "live recall"], rows))
    if figures.people:
        lines.append(table(["person", "sentences", "active hours", "per active hour"],
                           [[p["person"], p["sentences"], p["active hours"], p["per active hour"]]
                            for p in figures.people]))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def cmd_agreement(args: argparse.Namespace) -> int:
    from tram_core.errors import CommandError
    from tram_core.views.agreement_export import figures_csv, figures_json, quality_figures

    if args.resamples < 1:
        raise CommandError(f"--resamples must be at least 1, not {args.resamples}")
    store = open_store(args)
    acting(args, "view", store)
    if args.report is not None:
        store.get_report(args.report)  # one line naming a report that does not exist
    figures = quality_figures(store, args.report, args.resamples, args.seed)
    if args.format == "csv":
        sys.stdout.write(figures_csv(figures).decode("utf-8"))
    elif args.format == "json":
        print(figures_json(figures))
    else:
        print(_summary_text(figures))
    return 0
