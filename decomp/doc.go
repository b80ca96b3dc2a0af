// Package decomp decides who does what: images to ranks for extraction,
// sky tiles with halos for association, tiles to ranks, and pixel tiles
// inside an image. It is pure and deterministic (the same inputs give the
// same answer on every rank and every run) and imports no MPI, no I/O and
// nothing of gotrap but the sphere geometry of kernels/sphere (a leaf).
//
// # Images to ranks
//
// [AssignLPT] balances independent images by greedy
// longest-processing-time: sort by cost, largest first (ties by index),
// give each to the least-loaded rank (ties by rank). Its largest load is
// within 4/3 of the optimum and within one image of the mean. Contiguous
// blocks would keep a rank's images together in time, but extraction has
// no such locality (each image is read once), and LPT balances better when
// costs vary (images of several sizes, bands or QC-rejected stubs).
//
// # Sky tiling
//
// Association (DESIGN data flow, step 3) is parallel over sky tiles. A
// [Tiling] has a polar cap at each pole whose area is the target tile area
// side², and between them declination bands of equal height (about side),
// each split into the number of equal right-ascension ranges that makes
// its tiles' area closest to the target. All tiles of a band have the same
// area; across bands the area stays within a factor of about 1.5 (caps
// exact). Caps are single tiles, so no tile corner sits at a pole and the
// poles, where RA is meaningless, belong to exactly one tile. Tile edges
// are meridians and parallels, so a tile is a box in (RA, Dec), ownership
// is two searches, and the distance from a position to a core has a closed
// form. See docs/rfcs/0001-sky-tiling.md for the choice over HEALPix and
// plain RA/Dec grids.
//
// # Coordinates and units
//
// Positions are ICRS (RA, Dec) in degrees. RA is taken modulo 360, so
// -1e-300, 360 and 720 are valid and equal to 0; Dec must lie in
// [-90, 90] (values beyond it by at most 1e-9 are clamped). Areas are in
// steradians, distances and radii in degrees of arc.
//
// # Ownership and halos
//
// A core is half-open, RA in [RA0, RA1) and Dec in [Dec0, Dec1), except
// that the northern cap includes Dec = 90: every position is in exactly
// one core, that of [Tiling.Owner], and a source (running-catalogue entry)
// belongs to the owner of its position. A tile's halo is every position
// within the halo radius (plus [HaloSlack]) of its core, measured on the
// sphere, across RA 0/360 and over the poles. With the radius at least the
// association search radius (SPEC 5.2), the owner of any source within
// that radius of a measurement is among [Tiling.HaloTiles] of the
// measurement: route the measurement to its owner and a copy to every
// other tile listed.
//
// # Tiles to ranks
//
// [AssignTiles] gives each rank a contiguous run of tiles along a
// serpentine path (bands south to north, RA direction alternating), with
// runs of similar weight (area, or expected sources per tile) by prefix
// sums ([AssignBlocks]). Only the tiles given a weight are placed, so a
// small field on a fine tiling costs nothing for the rest of the sky. Neighbouring tiles thus share a rank, so fewer
// halo copies cross ranks.
//
// # Pixel tiles
//
// [PixelTiles] splits an image's half-open pixel rectangle into cores and
// clipped halos (STYLE 3); a source belongs to the tile whose core holds
// its rounded peak pixel.
//
// # Panics and errors
//
// Invalid tiling parameters (from configuration) return an error wrapping
// [ErrTiling]. Programmer errors panic: a rank count below 1, a negative,
// infinite or NaN cost, a tile id out of range, a NaN or infinite position
// or |Dec| > 90.
package decomp
