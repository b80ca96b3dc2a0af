#!/bin/sh
# Generate the tile-compressed and gzip FITS fixtures of gotrap's
# compressed-FITS tests with Debian's libcfitsio-bin (fpack, funpack) and
# gzip. Run from the repository root:
#
#     sh testdata/fz/gen.sh [SHARED_DATA]
#
# noise.fits (60 x 44 float32, Gaussian noise of seed 1 with a source, a
# NaN and exact zeros) and noisecube.fits (20 x 16 x 3) are written by
# /usr/bin/python3 with numpy (no astropy), then:
#   i16-rice.fits.fz, i16-gzip1.fits.fz, i16-gzip2.fits.fz   testdata/fits/bitpix16.fits, lossless
#   tiny-f32.fits.fz       testdata/fits/bitpix-32.fits (7 x 5): too small to quantise, so
#                          fpack stores it in GZIP_COMPRESSED_DATA (the lossless fallback)
#   f32-lossless.fits.fz   noise.fits, GZIP_1 of the raw floats (-q 0)
#   f32-rice-q4.fits.fz    noise.fits quantised (q 4) with SUBTRACTIVE_DITHER_1 (seed 17),
#                          RICE, tiles of 16 x 12 (partial tiles)
#   f32-gzip2-qz.fits.fz   noise.fits quantised with SUBTRACTIVE_DITHER_2 (seed 9999), GZIP_2
#   f32-nodither.fits.fz   noise.fits quantised without dithering (-q0 4), GZIP_1
#   cube-rice.fits.fz      noisecube.fits, RICE, tiles of 8 x 8 x 2 (spanning planes)
#   *.imcopy.fits          cfitsio's decompression of each quantised file (imcopy
#                          FILE[1]): the reference pixels. (funpack 4.2.0 garbles
#                          f32-rice-q4's partial tiles; imcopy writes the null pixel
#                          as a number rather than NaN.)
#   noise.fits.gz          gzip of noise.fits
# From SHARED_DATA (default ../shared/data), when present:
#   grb-rice.fits.fz       GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits,
#                          fpack's defaults (RICE, q 4, dither 1) with seed 5: the
#                          catalogue test's quantised image.
set -e
out=testdata/fz
fits=testdata/fits
shared=${1:-../shared/data}
cd "$(dirname "$0")/../.."
rm -f $out/*.fz $out/*.gz $out/*.imcopy.fits $out/*.funpack.fits $out/noise*.fits
/usr/bin/python3 - "$out" <<'PY'
import sys
import numpy as np

def write(path, data, extra=()):
    cards = ['SIMPLE  = T', 'BITPIX  = -32', 'NAXIS   = %d' % data.ndim]
    for i, n in enumerate(data.shape[::-1]):
        cards.append('NAXIS%-3d= %d' % (i + 1, n))
    cards += ["CTYPE1  = 'RA---SIN'", 'CRVAL1  = 150.0', 'CDELT1  = -0.002', 'CRPIX1  = 30.0',
              "CTYPE2  = 'DEC--SIN'", 'CRVAL2  = 30.0', 'CDELT2  = 0.002', 'CRPIX2  = 22.0',
              'BMAJ    = 0.01', 'BMIN    = 0.008', 'BPA     = 30.0', 'RESTFRQ = 150000000.0',
              "DATE-OBS= '2020-01-01T00:00:00'", "BUNIT   = 'Jy/beam'"] + list(extra)
    head = ''.join(c.ljust(80) for c in cards) + 'END'.ljust(80)
    head = head.ljust((len(head) + 2879) // 2880 * 2880)
    body = data.astype('>f4').tobytes()
    body = body.ljust((len(body) + 2879) // 2880 * 2880, b'\0')
    open(path, 'wb').write(head.encode() + body)

rng = np.random.default_rng(1)
y, x = np.mgrid[0:44, 0:60]
img = 0.001 * rng.standard_normal((44, 60)) + 0.02 * np.exp(-((x - 33.2) ** 2 + (y - 20.7) ** 2) / 8.0)
img[5, 7] = np.nan
img[40, 1:4] = 0.0
write(sys.argv[1] + '/noise.fits', img.astype(np.float32))
cube = 0.001 * rng.standard_normal((3, 16, 20))
write(sys.argv[1] + '/noisecube.fits', cube.astype(np.float32))
PY
fpack -r  -O $out/i16-rice.fits.fz  $fits/bitpix16.fits
fpack -g1 -O $out/i16-gzip1.fits.fz $fits/bitpix16.fits
fpack -g2 -O $out/i16-gzip2.fits.fz $fits/bitpix16.fits
fpack -r -O $out/tiny-f32.fits.fz $fits/bitpix-32.fits
fpack -g1 -q 0 -O $out/f32-lossless.fits.fz $out/noise.fits
fpack -r -q17 4 -t 16,12 -O $out/f32-rice-q4.fits.fz $out/noise.fits
fpack -g2 -qz9999 4 -O $out/f32-gzip2-qz.fits.fz $out/noise.fits
fpack -g1 -q0 4 -O $out/f32-nodither.fits.fz $out/noise.fits
fpack -r -q3 4 -t 8,8,2 -O $out/cube-rice.fits.fz $out/noisecube.fits
for f in tiny-f32 f32-rice-q4 f32-gzip2-qz f32-nodither cube-rice; do
  imcopy "$out/$f.fits.fz[1]" $out/$f.imcopy.fits > /dev/null
done
gzip -9 -n -c $out/noise.fits > $out/noise.fits.gz
grb=$shared/GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits
if [ -f "$grb" ]; then
  fpack -r -q5 4 -O $out/grb-rice.fits.fz "$grb"
fi
