#!/usr/bin/python3
"""Generate the small CASA image fixtures of gotrap's CASA reader tests.

Needs Debian's python3-casacore and casacore-data-observatories (run with
/usr/bin/python3). Run from the repository root:

    /usr/bin/python3 testdata/casa/gen.py testdata/casa

It writes, into the output directory:

  cube.image      40 x 32 pixels, Stokes I and V, 3 frequency channels,
                  float32, little-endian, TiledCellStMan with tiles of
                  16 x 12 x 1 x 2 (partial tiles on every tiled axis), a
                  default mask (mask0) with some pixels masked, a restoring
                  beam, units, an observation date and a telescope.
  cube-be.image   the same image written big-endian with the data column
                  in TiledShapeStMan (tiles 16 x 16 x 2 x 1), the same mask
                  and log tables.
  cube.fits       casacore's own FITS conversion of cube.image (tofits):
                  the reference for pixels (masked pixels are NaN) and
                  metadata.
  nomask.image    cube.image without its mask, one plane only (40 x 32),
                  arcsec direction units and B1950 (the unit and frame
                  conversions of the reader).
  nomask.fits     casacore's FITS conversion of nomask.image.
  beams.image     a 16 x 12 cube, Stokes I and V, 3 channels, with a beam
                  per plane (imageinfo.perplanebeams, no restoringbeam):
                  the beam of channel c, Stokes s has major axis
                  30 + 10 c + 100 s arcsec, minor 20 arcsec, position angle
                  10 c degrees. casacore keeps the beams in a matrix
                  (nChannels x nStokes) whose fields "*k" count channels
                  fastest (ImageBeamSet::fromRecord).

The pixel values are a deterministic function of the position (no
randomness), so the files are identical on every run of the generator
with the same casacore version.
"""
import os
import shutil
import sys

import numpy as np
import casacore.images as ci
from casacore.images.coordinates import coordinatesystem
from casacore.tables import makearrcoldesc, maketabdesc, table


def coords(c, ra_deg, dec_deg, units, system, stokes, nchan):
    c = {k: v for k, v in c.items()}
    c['direction0'] = dict(c['direction0'])
    c['spectral2'] = dict(c['spectral2'])
    c['spectral2']['wcs'] = dict(c['spectral2']['wcs'])
    if 'stokes1' in c:
        c['stokes1'] = dict(c['stokes1'])
    d = c['direction0']
    scale = {'rad': 1.0, "'": np.pi / 180 / 60, 'arcsec': np.pi / 180 / 3600}[units]
    d['units'] = [units, units]
    d['crval'] = np.array([np.deg2rad(ra_deg), np.deg2rad(dec_deg)]) / scale
    d['cdelt'] = np.array([-np.deg2rad(10 / 3600), np.deg2rad(10 / 3600)]) / scale
    d['crpix'] = np.array([19.0, 15.5])
    d['system'] = system
    d['conversionSystem'] = system
    d['latpole'] = dec_deg
    if 'stokes1' in c:
        c['stokes1']['stokes'] = stokes
    s = c['spectral2']
    s['wcs']['crval'] = 150e6
    s['wcs']['cdelt'] = 2e6
    s['wcs']['crpix'] = 0.0
    s['restfreq'] = 0.0
    s['restfreqs'] = np.array([0.0])
    s['system'] = 'TOPO'
    s['conversion']['system'] = 'TOPO'
    c['telescope'] = 'AARTFAAC'
    c['observer'] = 'gotrap'
    c['obsdate'] = {'m0': {'unit': 'd', 'value': 58849.5 + 1234.5678 / 86400},
                    'refer': 'UTC', 'type': 'epoch'}
    return coordinatesystem(c)


def pixels(shape):
    # shape is numpy (C) order: (chan, stokes, y, x).
    nch, nst, ny, nx = shape
    ch, st, y, x = np.meshgrid(np.arange(nch), np.arange(nst), np.arange(ny),
                               np.arange(nx), indexing='ij')
    g = 5.0 * np.exp(-((x - 21.3) ** 2 + (y - 13.7) ** 2) / (2 * 2.0 ** 2))
    sign = np.where(st == 1, -0.4, 1.0)  # Stokes V negative
    return (sign * g * (1 + 0.1 * ch) + 0.001 * x + 0.0001 * y +
            0.01 * ch + 0.02 * st).astype(np.float32)


def set_info(name, beam_arcsec):
    t = table(name, readonly=False, ack=False)
    t.putkeyword('units', 'Jy/beam')
    t.putkeyword('imageinfo', {
        'imagetype': 'Intensity', 'objectname': 'GOTRAP_FIXTURE',
        'restoringbeam': {
            'major': {'value': beam_arcsec[0], 'unit': 'arcsec'},
            'minor': {'value': beam_arcsec[1] / 60, 'unit': 'arcmin'},
            'positionangle': {'value': np.deg2rad(beam_arcsec[2]), 'unit': 'rad'}}})
    t.close()


def main(out):
    os.makedirs(out, exist_ok=True)
    for n in ('cube.image', 'cube-be.image', 'nomask.image', 'tmpl.image'):
        shutil.rmtree(os.path.join(out, n), ignore_errors=True)
    tmpl = os.path.join(out, 'tmpl.image')
    t0 = ci.image(tmpl, shape=(3, 2, 32, 40))
    tc = t0.coordinates().dict()
    del t0
    shutil.rmtree(tmpl)

    shape = (3, 2, 32, 40)
    cube = os.path.join(out, 'cube.image')
    c = coords(tc, 150.25, 30.5, 'rad', 'J2000', ['I', 'V'], 3)
    im = ci.image(cube, shape=shape, coordsys=c, tileshape=(2, 1, 12, 16))
    im.putdata(pixels(shape))
    # python-casacore takes numpy's convention, True = masked (bad); on
    # disk casacore stores True = good.
    bad = np.zeros(shape, dtype=bool)
    bad[0, 0, 3, 5] = True
    bad[1, 1, 30, 39] = True
    bad[2, :, 10:12, 0:3] = True
    im.putmask(bad)
    del im
    set_info(cube, (62.0, 41.0, 35.0))
    ci.image(cube).tofits(os.path.join(out, 'cube.fits'), overwrite=True)

    be = os.path.join(out, 'cube-be.image')
    src = table(cube, ack=False)
    desc = maketabdesc(makearrcoldesc('map', 0.0, ndim=4, valuetype='float'))
    dm = {'*1': {'TYPE': 'TiledShapeStMan', 'NAME': 'map', 'COLUMNS': ['map'],
                 'SPEC': {'DEFAULTTILESHAPE': np.array([16, 16, 2, 1, 1], dtype=np.int32)}}}
    t = table(be, desc, nrow=1, dminfo=dm, endian='big', ack=False)
    t.putcell('map', 0, src.getcell('map', 0))
    for k, v in src.getkeywords().items():
        if k not in ('logtable', 'masks'):
            t.putkeyword(k, v)
    t.putinfo(src.info())
    t.close()
    src.close()
    shutil.copytree(os.path.join(cube, 'mask0'), os.path.join(be, 'mask0'))
    shutil.copytree(os.path.join(cube, 'logtable'), os.path.join(be, 'logtable'))
    t = table(be, readonly=False, ack=False)
    t.putkeyword('logtable', 'Table: ' + os.path.abspath(os.path.join(be, 'logtable')))
    t.putkeyword('masks', {'mask0': {'isRegion': 1, 'name': 'LCPagedMask', 'comment': '',
                                     'mask': 'Table: ' + os.path.abspath(os.path.join(be, 'mask0')),
                                     'box': table(cube, ack=False).getkeyword('masks')['mask0']['box']}})
    t.close()

    nomask = os.path.join(out, 'nomask.image')
    shape1 = (1, 1, 32, 40)
    c = coords(tc, 210.0, -45.25, 'arcsec', 'B1950', ['I'], 1)
    im = ci.image(nomask, shape=shape1, coordsys=c)
    im.putdata(pixels(shape1))
    del im
    set_info(nomask, (55.0, 55.0, 0.0))
    ci.image(nomask).tofits(os.path.join(out, 'nomask.fits'), overwrite=True)

    beams = os.path.join(out, 'beams.image')
    shutil.rmtree(beams, ignore_errors=True)
    shapeb = (3, 2, 12, 16)
    c = coords(tc, 150.25, 30.5, 'rad', 'J2000', ['I', 'V'], 3)
    im = ci.image(beams, shape=shapeb, coordsys=c)
    im.putdata(pixels(shapeb))
    del im
    per = {'nChannels': 3, 'nStokes': 2}
    k = 0
    for st in range(2):
        for ch in range(3):
            per['*%d' % k] = {'major': {'value': 30.0 + 10 * ch + 100 * st, 'unit': 'arcsec'},
                              'minor': {'value': 20.0, 'unit': 'arcsec'},
                              'positionangle': {'value': 10.0 * ch, 'unit': 'deg'}}
            k += 1
    t = table(beams, readonly=False, ack=False)
    t.putkeyword('units', 'Jy/beam')
    t.putkeyword('imageinfo', {'imagetype': 'Intensity', 'objectname': 'BEAMS', 'perplanebeams': per})
    t.close()

    for root, _, files in os.walk(out):
        for f in files:
            if f == 'table.lock':
                os.remove(os.path.join(root, f))


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'testdata/casa')
