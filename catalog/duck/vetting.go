package duck

// VettingSQL is the vetting view (docs/catalog.md "vetting"):
// one row per (runcat, band) with a blind detection in that band, the
// flags that mark a candidate an astronomer should not trust at first
// sight, computed on one reference measurement:
//
//   - for a new source, in the band of its trigger, the trigger
//     measurement (ref = 'trigger'): what made it a candidate;
//   - otherwise (variables, and a new source's other bands) its brightest
//     blind detection of the band (ref = 'brightest'; ties to the lower
//     measurement id): where a blend or a neighbour matters most for
//     eta and V.
//
// Columns, beside the reference's image, f_peak and shape:
//
//   - nn_dist_arcsec, nn_f_peak, nn_xtrsrc: the nearest other measurement
//     of the same image (blind, null-detection or monitor fit: a forced
//     fit is a known source measured there; backward fits excluded), VAST's
//     n_neighbour_dist; null when the image has no other;
//   - blended, deblended: the measurement columns (kernels.Island);
//     n_blended: the runcat's blind detections in the band that were
//     blended or deblended;
//   - edge_dist_pix: pixels from the reference's position to the image's
//     outermost pixel centres; usable_dist_pix: to the nearer of that and
//     the sky region's extraction circle (xtr_radius, SPEC 2.4; negative
//     outside it);
//   - extended: the deconvolved semi-major axis exceeds 0 by more than 3
//     of its errors (smaj_dc > 3 smaj_dc_err, smaj_dc_err > 0): a source
//     resolved beyond the beam at 3 sigma (never with force_beam);
//   - rms_at_pos_min, n_limits, new_high_sigma (new sources, trigger
//     band only): the lowest rms at the source's position among the
//     earlier images of the trigger's band (limits.parquet), how many there
//     are, and the trigger's f_peak over that rms: VAST's new_high_sigma,
//     the significance the source would have had in the best earlier
//     image; beside TraP's sigma_rms_min/max of the limits image;
//   - the flags (boolean columns, and flags: their names joined by ','):
//     blend (blended or deblended), neighbour (a neighbour closer than
//     two beam FWHM, 4 rb_smaj, at least as bright at its peak),
//     edge (usable_dist_pix under two beam FWHM in pixels: the source's
//     beam, and the fit box of its forced fits, reach past the usable
//     area, where real images have the least primary-beam response and
//     the most artefacts), extended, and low_sigma
//     (new_high_sigma below detection_thresh + new_source_sigma_margin
//     of the earlier images, SPEC 8.1's test for a new source made at the
//     source's own position instead of at the image's rms_min: the
//     source could have been there, under that limit, in every earlier
//     image of its band).
const VettingSQL = `WITH trig AS (
    SELECT n.runcat, i.band, n.trigger_xtrsrc AS xtrsrc
    FROM newsources n
    JOIN measurements t ON t.id = n.trigger_xtrsrc
    JOIN images i ON i.id = t.image
),
bright AS (
    SELECT a.runcat, i.band,
           first(m.id ORDER BY m.f_peak DESC, m.id) AS xtrsrc,
           count(*) FILTER (WHERE m.blended OR m.deblended) AS n_blended
    FROM associations a
    JOIN measurements m ON m.id = a.xtrsrc AND m.extract_type = 0
    JOIN images i ON i.id = m.image
    GROUP BY a.runcat, i.band
),
refs AS (
    SELECT b.runcat, b.band, coalesce(t.xtrsrc, b.xtrsrc) AS xtrsrc,
           CASE WHEN t.xtrsrc IS NULL THEN 'brightest' ELSE 'trigger' END AS ref,
           b.n_blended
    FROM bright b
    LEFT JOIN trig t ON t.runcat = b.runcat AND t.band = b.band
),
nn AS (
    SELECT r.runcat, r.band,
           min(d) AS nn_dist_arcsec,
           first(f_peak ORDER BY d, id) AS nn_f_peak,
           first(id ORDER BY d, id) AS nn_xtrsrc
    FROM (
        SELECT r.runcat, r.band, o.id, o.f_peak,
               degrees(2 * asin(least(1, sqrt((o.x - t.x) * (o.x - t.x) + (o.y - t.y) * (o.y - t.y)
                                                + (o.z - t.z) * (o.z - t.z)) / 2))) * 3600 AS d
        FROM refs r
        JOIN measurements t ON t.id = r.xtrsrc
        JOIN measurements o ON o.image = t.image AND o.id <> t.id AND o.extract_type IN (0, 1, 2)
                            AND abs(o.decl - t.decl) < 1
    ) r
    GROUP BY r.runcat, r.band
),
hs AS (
    SELECT g.runcat, min(l.rms) AS rms_at_pos_min, count(*) AS n_limits,
           max(li.detection_thresh + l.sigma_margin) AS sigma_new
    FROM trig g
    JOIN limits l ON l.runcat = g.runcat
    JOIN images li ON li.id = l.image AND li.band = g.band
    GROUP BY g.runcat
),
v AS (
    SELECT r.runcat, r.band, r.ref, r.xtrsrc, t.image, t.f_peak,
           nn.nn_dist_arcsec, nn.nn_f_peak, nn.nn_xtrsrc,
           coalesce(t.blended, false) AS blended, coalesce(t.deblended, false) AS deblended,
           coalesce(r.n_blended, 0) AS n_blended,
           least(t.x_pix, t.y_pix, i.nx - 1 - t.x_pix, i.ny - 1 - t.y_pix) AS edge_dist_pix,
           (s.xtr_radius - degrees(2 * asin(least(1, sqrt((t.x - s.x) * (t.x - s.x) + (t.y - s.y) * (t.y - s.y)
                                                         + (t.z - s.z) * (t.z - s.z)) / 2)))) / abs(i.deltax) AS circle_dist_pix,
           t.smaj_dc, t.smaj_dc_err,
           t.smaj_dc_err > 0 AND t.smaj_dc > 3 * t.smaj_dc_err AS extended,
           2 * i.rb_smaj * 3600 AS beam_fwhm_arcsec,
           2 * i.rb_smaj / abs(i.deltax) AS beam_fwhm_pix,
           i.detection_thresh,
           hs.rms_at_pos_min, hs.n_limits, hs.sigma_new,
           CASE WHEN r.ref = 'trigger' THEN t.f_peak / hs.rms_at_pos_min END AS new_high_sigma
    FROM refs r
    JOIN measurements t ON t.id = r.xtrsrc
    JOIN images i ON i.id = t.image
    LEFT JOIN skyregions s ON s.id = i.skyrgn
    LEFT JOIN nn ON nn.runcat = r.runcat AND nn.band = r.band
    LEFT JOIN hs ON hs.runcat = r.runcat AND r.ref = 'trigger'
),
f AS (
    SELECT v.*,
           least(edge_dist_pix, coalesce(circle_dist_pix, edge_dist_pix)) AS usable_dist_pix,
           blended OR deblended AS flag_blend,
           coalesce(nn_dist_arcsec < 2 * beam_fwhm_arcsec AND nn_f_peak >= f_peak, false) AS flag_neighbour,
           least(edge_dist_pix, coalesce(circle_dist_pix, edge_dist_pix)) < 2 * beam_fwhm_pix AS flag_edge,
           extended AS flag_extended,
           coalesce(new_high_sigma < sigma_new, false) AS flag_low_sigma
    FROM v
)
SELECT runcat, band, ref, xtrsrc, image, f_peak,
       nn_dist_arcsec, nn_f_peak, nn_xtrsrc, blended, deblended, n_blended,
       edge_dist_pix, usable_dist_pix, extended, smaj_dc, smaj_dc_err, beam_fwhm_arcsec,
       rms_at_pos_min, n_limits, new_high_sigma,
       flag_blend, flag_neighbour, flag_edge, flag_extended, flag_low_sigma,
       concat_ws(',', CASE WHEN flag_blend THEN 'blend' END, CASE WHEN flag_neighbour THEN 'neighbour' END,
                 CASE WHEN flag_edge THEN 'edge' END, CASE WHEN flag_extended THEN 'extended' END,
                 CASE WHEN flag_low_sigma THEN 'low_sigma' END) AS flags
FROM f`
