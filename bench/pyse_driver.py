# PySE's side of "gotrap bench extract --pyse" (bench/pyse.go embeds this
# file and runs it with /usr/bin/python3 in one process, one core).
#
# It reads one JSON job per line on stdin and answers each with one JSON
# line on stdout:
#   job:    {"path": FITS, "out": DIR, "mode": "gaussian"|"moments",
#            "repeats": N, "image": {ImgConf fields}}
#   answer: {"wall": [s...], "cpu": [s...], "sources": n} or {"error": text}
# Each repetition is what the `pyse` command does per file: open the FITS
# file (sourcefinder.accessors.open), make the ImageData, extract, and
# write the CSV and the DS9 region file with PySE's own writers
# (sourcefinder.utility.cli.csv and regions). One untimed run first
# compiles numba's functions and warms the page cache.
import json
import os
import sys
import time
from dataclasses import replace

from sourcefinder.accessors import open as open_accessor
from sourcefinder.accessors import sourcefinder_image_from_accessor
from sourcefinder.config import read_conf
from sourcefinder.utility import cli


def once(path, out, conf):
    ff = open_accessor(path, plane=0)
    imagedata = sourcefinder_image_from_accessor(ff, conf=conf)
    sr = imagedata.extract()
    stem = os.path.splitext(os.path.basename(path))[0]
    with open(os.path.join(out, stem + ".csv"), "w") as f:
        f.write(cli.csv(sr, conf))
    with open(os.path.join(out, stem + ".reg"), "w") as f:
        f.write(cli.regions(sr))
    return len(sr)


def run(job):
    base = read_conf(None)
    image = dict(job["image"])
    image["vectorized"] = job["mode"] == "moments"
    conf = replace(
        base,
        image=replace(base.image, **image),
        export=replace(base.export, pandas_df=False, output_dir=job["out"]),
    )
    os.makedirs(job["out"], exist_ok=True)
    n = once(job["path"], job["out"], conf)
    wall, cpu = [], []
    for _ in range(job["repeats"]):
        t0, c0 = time.perf_counter(), time.process_time()
        n = once(job["path"], job["out"], conf)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {"wall": wall, "cpu": cpu, "sources": n}


def main():
    # PySE prints progress on stdout: the answers keep the real stdout,
    # everything else goes to stderr.
    proto = sys.stdout
    sys.stdout = sys.stderr
    print(json.dumps({"ready": True, "python": sys.version.split()[0]}), file=proto, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            ans = run(json.loads(line))
        except Exception as e:  # reported to the harness, which stops
            ans = {"error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(ans), file=proto, flush=True)


if __name__ == "__main__":
    main()
