"""A run's figures as a Markdown table, plots and docs/performance.md's generated section."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench.measure import ROOT

DOC = ROOT / "docs" / "performance.md"
PLOTS = ROOT / "docs" / "performance"
START, END = "<!-- bench:generated:start -->", "<!-- bench:generated:end -->"


def _n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _ok(flag: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "–"}[flag]


def _rows(r: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    if i := r.get("issuance"):
        base = i["baseline_raw_sign_copy_per_s"]["median"]
        for key, label, ratio_key in (
            ("api_40_teams_of_25_per_s", "40 requests of 25, 4 in flight", "ratio_40x25"),
            ("api_1_team_of_1000_per_s", "1 request of 1,000", "ratio_1x1000"),
        ):
            rows.append((
                f"Bulk issuance over HTTP, {label}",
                f"{_n(i[key]['median'])} certificates/s",
                f"raw Ed25519 + COPY: {_n(base)}/s",
                f"{i[ratio_key]:.3f}",
                "≥ 5,000/s and ≥ 0.25",
                _ok(i[ratio_key] >= 0.25 and i[key]["median"] >= 5000),
            ))  # fmt: skip
    if b := r.get("bulk_import"):
        rows.append((
            f"Bulk import (import-results' path), {_n(b['certificates'])} participants",
            f"{_n(b['bulk_per_s'])} certificates/s",
            f"raw Ed25519 + COPY: {_n(b['baseline_raw_sign_copy_per_s']['median'])}/s",
            f"{b['ratio']:.3f}",
            "≥ 0.25",
            _ok(b["meets_target"]),
        ))  # fmt: skip
    if g := r.get("growth"):
        first = g["points"][0]
        for p in g["points"]:
            rows.append((
                f"Growth at {_n(p['registry_size'])} certificates: issuing",
                f"{_n(p['issue_us_per_certificate']['median'])} µs/certificate",
                f"itself at {_n(first['registry_size'])}",
                f"{p['issue_cost_ratio_vs_first']:.2f}",
                "≤ 1.2",
                _ok(p["issue_cost_ratio_vs_first"] <= 1.2),
            ))  # fmt: skip
            look = p["verify_lookup"]
            rows.append((
                f"Growth at {_n(p['registry_size'])} certificates: verify lookup",
                f"p50 {look['p50_ms']:.2f} ms, p99 {look['p99_ms']:.2f} ms",
                f"itself at {_n(first['registry_size'])}",
                f"{p['lookup_p50_ratio_vs_first']:.2f}",
                "≤ 1.2",
                _ok(p["lookup_p50_ratio_vs_first"] <= 1.2),
            ))  # fmt: skip
    if d := r.get("delivery"):
        rows.append((
            "Delivery rendering: PDF/A + QR + PAdES + MeMo",
            f"{_n(d['product_pdf_pades_memo_per_s']['median'], 1)} certificates/s",
            f"bare ReportLab page: {_n(d['baseline_bare_reportlab_per_s']['median'])}/s",
            f"{d['ratio']:.3f}",
            "≥ 150/s and ≥ 0.6",
            _ok(d["meets_target"]),
        ))  # fmt: skip
    if v := r.get("verification"):
        if v.get("status") == "skipped":
            rows.append(("Verification under wrk", "skipped", v["why"], "–", "–", "–"))
        else:
            p, b = v["product_verify"], v["baseline_bare_pk_lookup"]
            rows.append((
                f"Verification under wrk, 64 connections, {_n(v['registry_size'])} certificates",
                f"{_n(p['requests_per_s']['median'])} req/s, p99 {p['p99_ms']['median']:.1f} ms",
                (
                    f"bare PK lookup: {_n(b['requests_per_s']['median'])} req/s, "
                    f"p99 {b['p99_ms']['median']:.1f} ms"
                ),
                f"{v['ratio']:.3f}",
                "≥ 0.7 and p99 ≤ 25 ms",
                _ok(v["meets_target"]),
            ))  # fmt: skip
    rows += _topology_rows(r.get("topology"))
    if t := r.get("transparency"):
        rows.append((
            f"Log append at {_n(t['log_size'])} leaves (batches of 1,000)",
            f"{_n(t['append_leaves_per_s']['median'])} leaves/s",
            f"in-memory hashing: {_n(t['baseline_in_memory_hashing_per_s']['median'])}/s",
            f"{t['append_ratio']:.3f}",
            "–",
            "–",
        ))  # fmt: skip
        for key, label in (("inclusion_proof", "Inclusion"), ("consistency_proof", "Consistency")):
            proof = t[key]
            rows.append((
                f"{label} proof at {_n(t['log_size'])} leaves",
                f"p50 {proof['p50_ms']:.2f} ms, p99 {proof['p99_ms']:.2f} ms",
                f"in-memory proof check: p50 {t['in_memory_inclusion_check']['p50_ms']:.3f} ms",
                f"{proof['p50_ms'] / t['in_memory_inclusion_check']['p50_ms']:.0f} x",
                "≤ 2 ms",
                _ok(proof["p99_ms"] <= 2.0),
            ))  # fmt: skip
    return rows


def _topology_rows(t: dict[str, Any] | None) -> list[tuple[str, ...]]:
    """The scale-out topology at each process count, and the speed-up from the first."""
    if not t:
        return []
    rows: list[tuple[str, ...]] = []
    sign, pdf = t["baseline_raw_sign_copy_per_s"]["median"], t["baseline_bare_reportlab_per_s"]
    for p in t["points"]:
        n = p["processes"]
        v, b = p["verify"], p["bare_lookup"]
        rows += [
            (
                f"Topology, {n} API process(es): issuance, 40 requests of 25, {4 * n} in flight",
                f"{_n(p['issuance_per_s']['median'])} certificates/s",
                f"raw Ed25519 + COPY (1 process): {_n(sign)}/s",
                f"{p['issuance_ratio']:.3f}",
                "–",
                "–",
            ),
            (
                f"Topology, {n} API process(es): verification under wrk, 64 connections",
                f"{_n(v['requests_per_s']['median'])} req/s, p99 {v['p99_ms']['median']:.1f} ms",
                (
                    f"bare PK lookup ({n} process(es)): {_n(b['requests_per_s']['median'])} "
                    f"req/s, p99 {b['p99_ms']['median']:.1f} ms"
                ),
                f"{p['verify_ratio']:.3f}",
                "–",
                "–",
            ),
            (
                f"Topology, {n} worker process(es): delivery, signed PDF/A + MeMo",
                f"{_n(p['delivery_per_s']['median'], 1)} certificates/s",
                f"bare ReportLab page (1 process): {_n(pdf['median'])}/s",
                f"{p['delivery_ratio']:.3f}",
                "–",
                "–",
            ),
        ]
    if len(t["points"]) > 1:
        up, last = t["speedup"], t["points"][-1]["processes"]
        rows.append((
            f"Topology speed-up, 1 → {last} processes on {t['usable_cores']} cores",
            (
                f"issuance {up['issuance']:.2f} x, verification {up['verify']:.2f} x, "
                f"delivery {up['delivery']:.2f} x"
            ),
            "itself at 1 process",
            "–",
            "–",
            "–",
        ))  # fmt: skip
    return rows


def table(result: dict[str, Any]) -> str:
    head = ("scenario", "product", "baseline, same run", "ratio", "target", "")
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(result)]
    return "\n".join(lines)


def _profile_lines(title: str, profile: dict[str, Any] | None) -> list[str]:
    if not profile or "top_self" not in profile:
        return []
    out = [f"**{title}** ({profile['tool']}, {profile['samples']} samples)", ""]
    out.append("| self % | frame | | inclusive % (our code) | frame |")
    out.append("| ---: | --- | --- | ---: | --- |")
    own, ours = profile["top_self"][:10], profile["top_inclusive_ours"][:10]
    for k in range(max(len(own), len(ours))):
        a = own[k] if k < len(own) else {"percent": "", "frame": ""}
        b = ours[k] if k < len(ours) else {"percent": "", "frame": ""}
        out.append(f"| {a['percent']} | `{a['frame']}` | | {b['percent']} | `{b['frame']}` |")
    out.append("")
    return out


def _plots(result: dict[str, Any]) -> list[str]:
    import matplotlib as mpl  # noqa: PLC0415 - a dev dependency, only for the docs

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    PLOTS.mkdir(parents=True, exist_ok=True)
    made = []
    if g := result.get("growth"):
        sizes = [p["registry_size"] for p in g["points"]]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        left.plot(sizes, [p["issue_certificates_per_s"] for p in g["points"]], "o-")
        left.set(xscale="log", xlabel="certificates in the register",
                 ylabel="certificates/s (teams of 25, 4 in flight)",
                 title="Issuing throughput vs register size")  # fmt: skip
        left.set_ylim(bottom=0)
        for key, label in (("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99")):
            right.plot(sizes, [p["verify_lookup"][key] for p in g["points"]], "o-", label=label)
        right.set(xscale="log", xlabel="certificates in the register", ylabel="ms",
                  title="Verify lookup latency (sequential)")  # fmt: skip
        right.set_ylim(bottom=0)
        right.legend()
        fig.tight_layout()
        fig.savefig(PLOTS / "growth.png", dpi=110)
        plt.close(fig)
        made.append("growth.png")
    if (v := result.get("verification")) and "product_verify" in v:
        keys = ("p50_ms", "p90_ms", "p99_ms")
        fig, ax = plt.subplots(figsize=(6, 4))
        xs = range(len(keys))
        ax.bar([x - 0.2 for x in xs], [v["baseline_bare_pk_lookup"][k]["median"] for k in keys],
               width=0.4, label="bare PK lookup")  # fmt: skip
        ax.bar([x + 0.2 for x in xs], [v["product_verify"][k]["median"] for k in keys],
               width=0.4, label="GET /api/verify")  # fmt: skip
        ax.axhline(25, color="grey", linestyle="--", label="p99 target 25 ms")
        ax.set_xticks(list(xs), ["p50", "p90", "p99"])
        ax.set(ylabel="ms", title="Latency under wrk, 64 connections")
        ax.legend()
        fig.tight_layout()
        fig.savefig(PLOTS / "verification-latency.png", dpi=110)
        plt.close(fig)
        made.append("verification-latency.png")
    return made


def _server_peaks(result: dict[str, Any]) -> dict[str, Any]:
    peaks = {
        "issuance app": (result.get("issuance") or {}).get("server_peak_rss_mib"),
        "growth app": (result.get("growth") or {}).get("server_peak_rss_mib"),
    }
    verification = (result.get("verification") or {}).get("server_peak_rss_mib") or {}
    for kind, value in verification.items():
        peaks[f"verification {kind}"] = value
    return {k: round(v, 1) if isinstance(v, float) else "not recorded" for k, v in peaks.items()}


def generated(result: dict[str, Any], source: Path) -> str:
    machine = result["machine"]
    lines = [
        START,
        (
            f"Latest full run: `{source.relative_to(ROOT)}` — commit {result['commit']}"
            f"{' (with uncommitted product changes)' if result['product_code_modified'] else ''},"
            f" {result['when']}, {machine['cpu_model']}, {machine['usable_cores']} cores,"
            f" load average {machine['load_average_at_start'][0]:.1f} at the start;"
            f" {result['total_seconds']:.0f} s in all. Medians of {result['mode']['repeats']} runs."
        ),
        "",
        table(result),
        "",
        "Peak resident memory (MiB): "
        + ", ".join(
            f"{k} {v}"
            for k, v in result["memory_peak_rss_mib"].items()
            if not k.startswith("largest_child")  # early runs: fork copies the parent's peak
        )
        + "; servers: "
        + ", ".join(f"{k} {v}" for k, v in _server_peaks(result).items()),
        "",
    ]
    for name in _plots(result):
        lines += [f"![{name}](performance/{name})", ""]
    lines += ["### Profiles (top frames)", ""]
    lines += _profile_lines("Bulk issuance, server", (result.get("issuance") or {}).get("profile"))
    lines += _profile_lines("Delivery rendering", (result.get("delivery") or {}).get("profile"))
    lines += _profile_lines(
        "Verification under wrk, server", (result.get("verification") or {}).get("profile")
    )
    lines.append(END)
    return "\n".join(lines)


def write_docs(result: dict[str, Any], source: Path) -> None:
    """Replace the generated section of docs/performance.md (the prose around it stays)."""
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    section = generated(result, source)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    DOC.write_text(pattern.sub(lambda _m: section, text))
