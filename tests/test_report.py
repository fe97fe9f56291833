"""`snakemake --report`: every table and figure of the study, with its caption, in the
papers' order, opened in headless Chromium.

The report only packs files, so the test does not run the study: it writes a small real
PNG (matplotlib) or CSV at every path under results/tables and results/figures that the
toy study's plan produces, renders the report, and checks in Chromium that the page loads
and every figure embedded in it decodes to an image. Skipped, with the reason, where
Chromium is missing and cannot be installed (no root or no apt-get).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# Appended to a copy of the report: decode every embedded image and list the result.
CHECK_SCRIPT = """
<script>
window.addEventListener("load", () => {
  const images = Object.entries(results).filter(([, r]) => r.mime_type.startsWith("image/"));
  const lines = [];
  const done = () => {
    if (lines.length < images.length) return;
    const pre = document.createElement("pre");
    pre.id = "figure-check";
    pre.textContent = JSON.stringify(lines);
    document.body.appendChild(pre);
  };
  images.forEach(([path, r]) => {
    const img = new Image();
    img.onload = () => { lines.push([path, img.naturalWidth, img.naturalHeight]); done(); };
    img.onerror = () => { lines.push([path, 0, 0]); done(); };
    img.src = r.data_uri;
  });
  done();
});
</script>
"""


def chromium(unavailable) -> str:
    """A headless browser; installed with apt-get when missing. Without root or apt-get the
    test skips; a failed install skips too, but fails under CI=true."""
    for name in ["chromium", "chromium-browser", "google-chrome"]:
        if found := shutil.which(name):
            return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("Chromium is not installed and cannot be (needs root and apt-get)")
    install = subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
                             shell=True, capture_output=True, text=True)
    if install.returncode != 0 or shutil.which("chromium") is None:
        unavailable(f"apt-get install chromium failed: {install.stderr.strip()[-300:]}")
    return shutil.which("chromium")


def write_placeholder(path: Path, index: int) -> None:
    """A small real file of the path's kind (the report embeds and renders it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".png", ".pdf"):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot([0, 1, 2], [index, index + 1, index * 2 % 5])
        ax.set_title(path.stem)
        fig.savefig(path)
        plt.close(fig)
    elif path.suffix == ".csv":
        path.write_text("Task,Model,ASR (%)\npurebad,Original,1.0\npurebad,Fine-tuned,90.0\n")
    else:
        path.write_text(f"placeholder {path.name}\n")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("report")
    for item in ["Snakefile", "workflow", "config", "resources", "envs"]:
        src = REPO / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / item)
    plan = subprocess.run([SNAKEMAKE, "-n", "--cores", "1"], cwd=work, capture_output=True, text=True, env=ENV)
    assert plan.returncode == 0, plan.stderr[-2000:]
    outputs = sorted({f for line in plan.stdout.splitlines() if line.strip().startswith("output:")
                      for f in line.split(":", 1)[1].replace(",", " ").split()
                      if f.startswith(("results/tables/", "results/figures/"))})
    assert outputs
    for i, name in enumerate(outputs):
        write_placeholder(work / name, i)
    run = subprocess.run([SNAKEMAKE, "--report", "results/report.html"], cwd=work, capture_output=True, text=True,
                         env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    return work / "results" / "report.html"


def report_results(html: str) -> dict:
    data = re.search(r'<script id="results">\s*var results = (\{.*?\});\s*</script>', html, re.S)
    assert data, "no results block in the report"
    return json.loads(data.group(1))


def test_every_table_and_figure_is_in_the_report_with_a_caption_in_the_papers_order(report):
    results = report_results(report.read_text())
    names = {Path(k).name for k in results}
    for name in ["safedelta_harmful.csv", "safedelta_benign.csv", "asr_vs_size.png", "pareto.png", "lora.csv",
                 "time_cost.csv", "finetune_safety.csv", "safedelta_ablation.csv", "safedelta_scale_sweep.png"]:
        assert name in names, name
    for path, entry in results.items():
        assert entry["caption"].strip(), f"{path} has no caption"
    # Table 1's caption is rendered from the wildcard, Table 2's too
    captions = {Path(k).name: v["caption"] for k, v in results.items()}
    assert "Table 1" in captions["safedelta_harmful.csv"] and "Table 2" in captions["safedelta_benign.csv"]
    # the report lists categories and subcategories sorted by name: numbers keep the paper's order
    categories = json.loads(re.search(r'<script id="categories">\s*var categories = (\{.*?\});\s*</script>',
                                      report.read_text(), re.S).group(1))
    safedelta = sorted(categories["Safe Delta (arXiv 2505.12038)"])
    assert safedelta[:6] == ["1 Table 1: harmful fine-tuning", "2 Table 2: benign fine-tuning",
                             "3 Figure 1: ASR vs size", "4 Figure 5: Pareto front", "5 Exp. 5: LoRA",
                             "6 Exp. 10: time cost"]
    # the other two arms: MathIF's Table 3, Table 6 and breakdowns; resistance and rebound
    for name in ["mathif.csv", "mathif_intervention.csv", "mathif_by_constraints.png", "mathif_by_source.png",
                 "mathif_cot_length.png", "resistance.csv", "rebound.csv"]:
        assert name in names, name
    assert any(n.startswith("rebound_") and n.endswith(".png") for n in names)
    assert "Table 3" in captions["mathif.csv"] and "Table 6" in captions["mathif_intervention.csv"]
    assert sorted(categories["MathIF (arXiv 2505.14810)"])[0] == "1 Table 3: HAcc, SAcc, correctness"
    assert sorted(categories["Resist Alignment (arXiv 2406.06144)"]) == ["1 Resistance: forward vs inverse",
                                                                        "2 Rebound"]


def test_the_report_opens_in_chromium_and_every_figure_loads(report, tmp_path, unavailable):
    browser = chromium(unavailable)
    shot = tmp_path / "report.png"
    run = subprocess.run([browser, *CHROMIUM_FLAGS, "--window-size=1400,1000", "--virtual-time-budget=20000",
                          f"--screenshot={shot}", report.as_uri()], capture_output=True, text=True, timeout=180)
    assert shot.exists() and shot.stat().st_size > 10_000, run.stderr[-2000:]
    from PIL import Image

    pixels = Image.open(shot).convert("L").getextrema()
    assert pixels[1] - pixels[0] > 50, "the screenshot is blank"

    check = tmp_path / "check.html"
    check.write_text(report.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, "--virtual-time-budget=20000", "--dump-dom", check.as_uri()],
                         capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="figure-check">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stderr[-2000:]
    loaded = json.loads(found.group(1).replace("&quot;", '"'))
    figures = [k for k, v in report_results(report.read_text()).items() if v["mime_type"].startswith("image/")]
    assert len(loaded) == len(figures) >= 3
    assert all(w > 0 and h > 0 for _, w, h in loaded), loaded
