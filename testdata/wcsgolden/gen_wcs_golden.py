#!/usr/bin/python3
"""Write the golden values of gotrap's internal/wcs tests with wcslib.

Usage: /usr/bin/python3 gen_wcs_golden.py DATA_DIR OUT_DIR

DATA_DIR holds the real images (../shared/data); OUT_DIR receives one JSON
file per case (testdata/wcsgolden). Run through `make golden`. It needs
Debian's python3-astropy (5.2.1, which wraps wcslib 7.12) and nothing else.

Each case holds the celestial header keywords (so the Go test builds a
wcs.MapHeader from them and needs neither Python nor a FITS reader), a grid
of 0-based pixels with the sky positions wcslib gives them, sky positions
with the 0-based pixels wcslib gives them, and points that wcslib says have
no valid image. See README.md in this folder.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import astropy
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs import _wcs

# Machine epsilon of float64 (numpy's finfo(float).eps = 2**-52), used for the
# CRVAL2 = 90 rule of SPEC 0.1.
EPS = float(np.finfo(float).eps)

# Seeds of the random pixel sets (numpy PCG64), fixed so the files are
# reproducible.
SEED_GRID = 20240611
SEED_INV = 20240612

GRID = 9  # pixels per axis of the regular grid (corners included)
NRAND = 16  # extra random pixels per case for pixel -> sky
NINV = 32  # sky points per case for sky -> pixel

# The real images and the names of their cases.
REAL_FILES = [
    ("GRB120422A-120429.fits", "real_grb120422a"),
    ("SWIFT_554620-130504.fits", "real_swift_554620"),
    ("GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits", "real_grb201006a_cutout"),
    ("psf.fits", "real_psf"),
]

# Limits of the zenithal projections in the plane of intermediate world
# coordinates (degrees from the reference point): SIN R = 180/pi cos(theta)
# ends at theta = 0, ZEA R = 360/pi sin((90-theta)/2) at theta = -90, ARC
# R = 90 - theta at theta = -90 (paper II, section 5.1).
R_SIN = 180.0 / math.pi
R_ZEA = 360.0 / math.pi
R_ARC = 180.0
# CAR has an image for native |phi| <= 180 and |theta| <= 90 only: a circle
# of radius 180 around the reference point lies outside that rectangle.
R_CAR = 180.0


def is_celestial_key(key):
    """Whether a header keyword belongs to the celestial WCS of axes 1 and 2."""
    if key in ("NAXIS1", "NAXIS2", "LONPOLE", "LATPOLE"):
        return True
    for base in ("CTYPE", "CRVAL", "CRPIX", "CDELT", "CUNIT", "CROTA"):
        if key in (base + "1", base + "2"):
            return True
    for i in (1, 2):
        for j in (1, 2):
            if key in ("PC%d_%d" % (i, j), "CD%d_%d" % (i, j),
                       "PC%03d%03d" % (i, j), "CD%03d%03d" % (i, j)):
                return True
        if key.startswith("PV%d_" % i):
            return True
    return False


def plain(v):
    """A header value as a JSON scalar with its FITS type kept (int or float)."""
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    return str(v)


def to_fits_header(cards):
    h = fits.Header()
    h["NAXIS"] = 2
    for k, v in cards.items():
        h[k] = v
    return h


def make_wcs(header):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header, naxis=2)


def lnglat(w):
    """Indexes of the longitude and latitude world axes."""
    w.wcs.set()
    return w.wcs.lng, w.wcs.lat


def pix2sky(w, x, y):
    """0-based pixels -> (ra, dec) in degrees, RA in [0, 360)."""
    lng, lat = lnglat(w)
    world = w.all_pix2world(np.column_stack([x, y]), 0)
    # Double-check the origin: origin 0 at x must equal origin 1 at x+1.
    world1 = w.all_pix2world(np.column_stack([x + 1.0, y + 1.0]), 1)
    assert np.array_equal(world, world1, equal_nan=True), "origin convention"
    ra = np.mod(world[:, lng], 360.0)
    ra[ra >= 360.0] = 0.0
    return ra, world[:, lat]


def sky2pix(w, ra, dec):
    lng, lat = lnglat(w)
    world = np.zeros((len(ra), 2))
    world[:, lng] = ra
    world[:, lat] = dec
    pix = w.all_world2pix(world, 0)
    return pix[:, 0], pix[:, 1]


def flist(a):
    return [float(v) for v in a]


def build_case(name, description, cards, astropy_header, source, outside_radius_deg):
    """Compute one case.

    cards: the header keywords the Go test sees. astropy_header: the header
    wcslib sees: the full header of a real file, or for a synthetic case the
    cards themselves (or, where SPEC 0.1 changes a value, the changed cards).
    outside_radius_deg: distance from the reference point in the plane of
    intermediate world coordinates (degrees) of the projection's limit, or
    None where no pixel lies beyond it.
    """
    w = make_wcs(astropy_header)
    # The filtered cards must give wcslib the same transformation, except
    # where SPEC 0.1 changes a value on purpose.
    wf = make_wcs(to_fits_header(cards))
    compare_filtered = source != "synthetic" or astropy_header == to_fits_header(cards)
    nx, ny = int(cards["NAXIS1"]), int(cards["NAXIS2"])

    gx, gy = np.meshgrid(np.linspace(0, nx - 1, GRID), np.linspace(0, ny - 1, GRID))
    rng = np.random.Generator(np.random.PCG64(SEED_GRID))
    x = np.concatenate([gx.ravel(), [nx / 2.0], rng.uniform(0, nx - 1, NRAND)])
    y = np.concatenate([gy.ravel(), [ny / 2.0], rng.uniform(0, ny - 1, NRAND)])
    ra, dec = pix2sky(w, x, y)
    assert np.all(np.isfinite(ra)) and np.all(np.isfinite(dec)), name + ": pixel outside the valid region"
    if compare_filtered:
        raf, decf = pix2sky(wf, x, y)
        assert np.allclose(raf, ra, rtol=0, atol=1e-12) and np.allclose(decf, dec, rtol=0, atol=1e-12), \
            name + ": filtered header differs"

    rng = np.random.Generator(np.random.PCG64(SEED_INV))
    xi = rng.uniform(0, nx - 1, NINV)
    yi = rng.uniform(0, ny - 1, NINV)
    rai, deci = pix2sky(w, xi, yi)
    xo, yo = sky2pix(w, rai, deci)
    assert np.all(np.isfinite(xo)) and np.all(np.isfinite(yo)), name + ": inverse failed"
    assert np.max(np.abs(xo - xi)) < 1e-6 and np.max(np.abs(yo - yi)) < 1e-6, name + ": wcslib round trip"

    # Points without an image: pixels well beyond the projection's limit and
    # sky positions wcslib refuses. Only points wcslib itself calls invalid
    # are kept.
    out_x, out_y = [], []
    if outside_radius_deg is not None:
        cd = w.wcs.get_pc() * w.wcs.get_cdelt()[:, None]
        lng, lat = lnglat(w)
        inv = np.linalg.inv(cd)
        crpix0 = w.wcs.crpix - 1.0
        for ang in range(0, 360, 45):
            for f in (1.05, 1.5, 3.0, 6.0):
                r = outside_radius_deg * f
                inter = np.zeros(2)
                inter[lng] = r * math.sin(math.radians(ang))
                inter[lat] = -r * math.cos(math.radians(ang))
                p = inv @ inter + crpix0
                pr, pd = pix2sky(w, np.array([p[0]]), np.array([p[1]]))
                if np.isnan(pr[0]) and np.isnan(pd[0]):
                    out_x.append(float(p[0]))
                    out_y.append(float(p[1]))
        assert out_x, name + ": no outside pixel found"
    # Sky positions: the antipode of the reference point, the point across
    # the pole from it, and two more on the opposite hemisphere.
    out_ra, out_dec = [], []
    ra0, dec0 = pix2sky(w, np.array([w.wcs.crpix[0] - 1.0]), np.array([w.wcs.crpix[1] - 1.0]))
    for dra, sdec in ((180.0, -1.0), (180.0, 1.0), (90.0, -1.0), (200.0, -1.0)):
        r = math.fmod(ra0[0] + dra, 360.0)
        d = sdec * dec0[0]
        px, py = sky2pix(w, np.array([r]), np.array([d]))
        if np.isnan(px[0]) and np.isnan(py[0]):
            out_ra.append(float(r))
            out_dec.append(float(d))

    w.wcs.set()
    scale = np.sqrt(np.sum((w.wcs.get_pc() * w.wcs.get_cdelt()[:, None]) ** 2, axis=0))
    return {
        "name": name,
        "description": description,
        "source": source,
        "header": {k: plain(v) for k, v in cards.items()},
        "wcslib": {
            "version": _wcs.__version__,
            "astropy": astropy.__version__,
            "lonpole": float(w.wcs.lonpole),
            "latpole": float(w.wcs.latpole),
            "ctype": list(w.wcs.ctype),
        },
        "projection": cards["CTYPE1"][5:8],
        "pixel_scale": flist(scale),
        "pix2sky": {"x": flist(x), "y": flist(y), "ra": flist(ra), "dec": flist(dec)},
        "sky2pix": {"ra": flist(rai), "dec": flist(deci), "x": flist(xo), "y": flist(yo)},
        "outside_pix": {"x": out_x, "y": out_y},
        "outside_sky": {"ra": out_ra, "dec": out_dec},
    }


def real_cases(data_dir):
    cases = []
    for fn, name in REAL_FILES:
        full = fits.getheader(os.path.join(data_dir, fn))
        cards = {}
        for c in full.cards:
            if is_celestial_key(c.keyword):
                cards[c.keyword] = c.value
        cases.append(build_case(name, "WCS cards of axes 1 and 2 of the real image " + fn,
                                cards, full, fn, R_SIN))
    return cases


def base(ctype, crval, cdelt, crpix, naxis, **extra):
    lng, lat = ctype
    cards = {
        "NAXIS1": naxis[0], "NAXIS2": naxis[1],
        "CTYPE1": lng, "CTYPE2": lat,
        "CRVAL1": crval[0], "CRVAL2": crval[1],
        "CRPIX1": crpix[0], "CRPIX2": crpix[1],
    }
    if cdelt is not None:
        cards["CDELT1"] = cdelt[0]
        cards["CDELT2"] = cdelt[1]
    cards.update(extra)
    return cards


def radec(p):
    return ("RA---" + p, "DEC--" + p)


def synthetic_cases():
    S = []  # (name, description, cards, astropy cards or None, outside radius)

    # Zenithal projections: distance of the no-image boundary from the
    # reference point (native 90 - theta), or None where every pixel maps.
    S.append(("sin_cdelt_ra0", "SIN, CDELT only, field straddling RA 0/360",
              base(radec("SIN"), (0.3, 30.0), (-0.05, 0.05), (128.5, 120.0), (256, 256)), None, R_SIN))
    S.append(("sin_crota", "SIN, CDELT + CROTA2 = 25 with unequal CDELT",
              base(radec("SIN"), (150.0, -35.0), (-0.04, 0.05), (100.0, 140.0), (256, 256), CROTA2=25.0), None, R_SIN))
    S.append(("sin_slant", "SIN with PV2_1/PV2_2 (slant orthographic)",
              base(radec("SIN"), (200.0, -50.0), (-0.08, 0.08), (128.0, 128.0), (256, 256),
                   PV2_1=0.2, PV2_2=-0.3), None, R_SIN))
    S.append(("ncp_north", "NCP (SIN with PV2_2 = cot dec0), wide field",
              base(radec("NCP"), (45.0, 60.0), (-0.1, 0.1), (129.0, 129.0), (256, 256)), None, R_SIN))
    S.append(("ncp_south", "NCP at negative declination",
              base(radec("NCP"), (310.0, -25.0), (-0.05, 0.05), (64.0, 64.0), (128, 128)), None, R_SIN))
    S.append(("sin_north_pole", "SIN, dec0 = 89.5, the image covers the pole",
              base(radec("SIN"), (33.0, 89.5), (-0.01, 0.01), (128.0, 128.0), (256, 256)), None, R_SIN))
    S.append(("sin_crval2_90", "SIN, CRVAL2 exactly 90: wcslib gets 90*(1-eps) as SPEC 0.1 says",
              base(radec("SIN"), (12.0, 90.0), (-0.02, 0.02), (128.0, 128.0), (256, 256)),
              base(radec("SIN"), (12.0, 90.0 * (1 - EPS)), (-0.02, 0.02), (128.0, 128.0), (256, 256)), R_SIN))
    S.append(("sin_rad", "SIN with CUNIT 'rad' on both axes",
              base(radec("SIN"), (2.5, -0.6), (-1e-3, 1e-3), (128.0, 128.0), (256, 256),
                   CUNIT1="rad", CUNIT2="rad"), None, R_SIN))
    S.append(("sin_pc_aips", "SIN, old AIPS PC00i00j matrix with rotation and skew",
              base(radec("SIN"), (136.9, 14.0), (-0.01, 0.01), (257.0, 257.0), (512, 512),
                   PC001001=0.95, PC001002=0.2, PC002001=-0.25, PC002002=1.05), None, R_SIN))
    S.append(("tan_pc", "TAN, PC matrix with rotation and skew, wide field",
              base(radec("TAN"), (300.0, -20.0), (-0.1, 0.1), (128.0, 128.0), (256, 256),
                   PC1_1=0.9, PC1_2=0.35, PC2_1=-0.3, PC2_2=1.1), None, None))
    S.append(("tan_cd_ra360", "TAN, CD matrix, field straddling RA 360/0",
              base(radec("TAN"), (359.9, 10.0), None, (64.0, 64.0), (128, 128),
                   CD1_1=-0.01, CD1_2=0.002, CD2_1=0.003, CD2_2=0.012), None, None))
    S.append(("tan_south_pole", "TAN, dec0 = -89.5, the image covers the pole",
              base(radec("TAN"), (280.0, -89.5), (-0.01, 0.01), (128.0, 128.0), (256, 256)), None, None))
    S.append(("tan_lonpole", "TAN with LONPOLE = 150 (non-default)",
              base(radec("TAN"), (60.0, 20.0), (-0.05, 0.05), (128.0, 128.0), (256, 256), LONPOLE=150.0), None, None))
    S.append(("arc_wide", "ARC, 0.5 deg pixels (+-64 deg), CDELT only",
              base(radec("ARC"), (10.0, -75.0), (-0.5, 0.5), (128.5, 128.5), (256, 256)), None, R_ARC))
    S.append(("arc_cd", "ARC with a CD matrix",
              base(radec("ARC"), (190.0, 40.0), None, (64.0, 64.0), (128, 128),
                   CD1_1=-0.05, CD1_2=-0.01, CD2_1=-0.02, CD2_2=0.06), None, R_ARC))
    S.append(("stg_lonpole", "STG with LONPOLE = 120 (non-default), wide field",
              base(radec("STG"), (80.0, 40.0), (-0.3, 0.3), (128.0, 128.0), (256, 256), LONPOLE=120.0), None, None))
    S.append(("zea_south_pole_crota", "ZEA, dec0 = -89.5, CROTA2 = -60",
              base(radec("ZEA"), (123.0, -89.5), (-0.2, 0.2), (128.0, 128.0), (256, 256), CROTA2=-60.0), None, R_ZEA))
    S.append(("zea_north_pole", "ZEA, dec0 = 89.5, PC matrix",
              base(radec("ZEA"), (300.0, 89.5), (-0.02, 0.02), (100.0, 100.0), (200, 200),
                   PC1_1=0.8, PC1_2=-0.6, PC2_1=0.6, PC2_2=0.8), None, R_ZEA))
    S.append(("car_equator", "CAR at (0, 0), 1 deg pixels, most of the sky",
              base(radec("CAR"), (0.0, 0.0), (-1.0, 1.0), (150.5, 75.5), (300, 150)), None, R_CAR))
    S.append(("car_oblique", "CAR with dec0 = 35 (oblique), CROTA2 = 10",
              base(radec("CAR"), (120.0, 35.0), (-0.5, 0.5), (200.0, 100.0), (400, 200), CROTA2=10.0), None, R_CAR))
    S.append(("car_south_latpole", "CAR with dec0 = -40 and LATPOLE = -30 (picks the southern pole solution)",
              base(radec("CAR"), (250.0, -40.0), (-0.25, 0.25), (100.0, 100.0), (200, 200), LATPOLE=-30.0), None, R_CAR))
    S.append(("car_lonpole", "CAR with dec0 = 20 and LONPOLE = 30",
              base(radec("CAR"), (20.0, 20.0), (-0.3, 0.3), (100.0, 100.0), (200, 200), LONPOLE=30.0), None, R_CAR))
    S.append(("glon_zea", "GLON/GLAT with ZEA",
              base(("GLON-ZEA", "GLAT-ZEA"), (180.0, -10.0), (-0.1, 0.1), (128.0, 128.0), (256, 256)), None, R_ZEA))
    S.append(("elon_tan", "ELON/ELAT with TAN and a CD matrix",
              base(("ELON-TAN", "ELAT-TAN"), (270.0, 66.0), None, (64.0, 64.0), (128, 128),
                   CD1_1=0.02, CD1_2=0.0, CD2_1=0.0, CD2_2=0.02), None, None))
    S.append(("swapped_sin_crota", "axis 1 = DEC, axis 2 = RA, CROTA1 on the latitude axis",
              base(("DEC--SIN", "RA---SIN"), (-30.0, 100.0), (0.03, -0.03), (128.0, 128.0), (256, 256),
                   CROTA1=20.0), None, R_SIN))
    S.append(("int_cards", "integer-valued cards (FITS integers) for CRPIX, CRVAL and LONPOLE",
              base(radec("SIN"), (150, 2), (-0.01, 0.01), (128, 128), (256, 256), LONPOLE=180), None, R_SIN))
    return S


def dump(case):
    """JSON with one header card per line and each array on one line.

    Floats are written by repr, the shortest text that reads back as the
    same float64, so the Go test sees wcslib's exact values.
    """
    out = ["{"]
    items = list(case.items())
    for n, (k, v) in enumerate(items):
        if k == "header":
            cards = ",\n".join("  %s: %s" % (json.dumps(ck), json.dumps(cv)) for ck, cv in v.items())
            text = "{\n" + cards + "\n }"
        elif isinstance(v, dict):
            text = "{\n" + ",\n".join("  %s: %s" % (json.dumps(dk), json.dumps(dv, allow_nan=False))
                                        for dk, dv in v.items()) + "\n }"
        else:
            text = json.dumps(v)
        out.append(" %s: %s%s" % (json.dumps(k), text, "," if n < len(items) - 1 else ""))
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_wcs_golden.py DATA_DIR OUT_DIR")
    data_dir, out_dir = sys.argv[1], sys.argv[2]
    cases = real_cases(data_dir)
    for name, desc, cards, acards, radius in synthetic_cases():
        cases.append(build_case(name, desc, cards, to_fits_header(acards if acards is not None else cards),
                                "synthetic", radius))
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):
        if old.endswith(".json"):
            os.remove(os.path.join(out_dir, old))
    for c in cases:
        with open(os.path.join(out_dir, c["name"] + ".json"), "w") as f:
            f.write(dump(c))
    print("wrote %d cases to %s (astropy %s, wcslib %s)" % (len(cases), out_dir, astropy.__version__, _wcs.__version__))


if __name__ == "__main__":
    main()
