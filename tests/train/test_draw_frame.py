"""Prediction drawings: camera view and bird's-eye view side by side, the BEV range that
follows the boxes (and reports what is off the plot), the legend and the caption."""

import numpy as np
import pytest
import torch
from PIL import Image

from mono3d.train import BevView, BoxesToDraw, bev_view, draw_bev, draw_frame
from mono3d.train._draw import draw_boxes_on_image, enlarge
from mono3d.train._draw_bev import BEV_MAX_DEPTH, BEV_MAX_LATERAL, BEV_MIN_DEPTH, WARNING_COLOUR
from mono3d.train._draw_frame import WARNING_TEXT, detection_caption, footer_height

#: KITTI-like P2 for a 416x128 frame
CALIB = torch.tensor([[243.66, 0.0, 202.93, 15.02], [0.0, 248.31, 57.75, 0.07],
                      [0.0, 0.0, 1.0, 0.0027]])  # fmt: skip


def boxes(xz, *, scores=None, ground_truth=False, category=1):
    """Car-sized boxes at the (x, z) centres ``xz``."""
    n = len(xz)
    bbox3d = torch.tensor([[x, 1.65, z, 1.5, 1.6, 3.9] for x, z in xz]).reshape(n, 6)
    return BoxesToDraw(
        bbox3d=bbox3d,
        yaw=torch.zeros(n),
        category=torch.full((n,), category, dtype=torch.int64),
        labels=["Car" for _ in range(n)],
        ground_truth=ground_truth,
        score=None if scores is None else torch.tensor(scores, dtype=torch.float32),
    )


def has_yellow_text(image):
    """Whether ``image`` holds pixels of the (anti-aliased) yellow warning text."""
    rgb = np.asarray(image.convert("RGB")).astype(int)
    return bool(((rgb[..., 0] > 150) & (rgb[..., 1] > 100) & (rgb[..., 2] < 60)).any())


def frame(width=416, height=128):
    return Image.new("RGB", (width, height), (90, 90, 90))


def has_colour(image, colour):
    """Whether some pixel of ``image`` is exactly ``colour``."""
    return bool((np.asarray(image.convert("RGB")) == np.array(colour)).all(axis=-1).any())


# ----------------------------------------------------------------------------- BEV range


def test_bev_range_follows_the_boxes():
    assert bev_view([]) == BevView(x_half=BEV_MIN_DEPTH / 2, z_max=BEV_MIN_DEPTH)
    assert bev_view([boxes([(1.0, 8.0)])]) == BevView(x_half=10.0, z_max=BEV_MIN_DEPTH)
    # the far corner (z + l/2) plus the 2 m margin, rounded up to the 10 m grid
    assert bev_view([boxes([(0.0, 45.0)])]).z_max == 50.0
    assert bev_view([boxes([(0.0, 42.0)])]).z_max == 50.0  # 42 + w/2 + 2 m margin > 40
    # a box far to the side widens the view in 5 m steps, depth unchanged
    view = bev_view([boxes([(-21.0, 10.0)])])
    assert view.z_max == BEV_MIN_DEPTH and view.x_half == 25.0
    # several sets count together
    both = bev_view([boxes([(0.0, 10.0)]), boxes([(3.0, 61.0)], ground_truth=True)])
    assert both.z_max == 70.0 and both.x_half == 35.0


def test_bev_range_stops_at_its_maximum_and_reports_what_is_beyond():
    far = boxes([(0.0, 30.0), (2.0, 120.0), (-55.0, 20.0), (1.0, -5.0)])
    view = bev_view([far])
    # the far and the wide box widen the view to its limits, and stay off the plot
    assert view == BevView(x_half=BEV_MAX_LATERAL, z_max=BEV_MAX_DEPTH)
    assert view.outside(far).tolist() == [False, True, True, True]
    # a box behind the camera does not widen it
    assert bev_view([boxes([(0.0, 30.0), (1.0, -50.0)])]) == BevView(x_half=20.0, z_max=40.0)
    capped = bev_view([boxes([(0.0, 79.0), (39.5, 20.0)])])
    assert capped == BevView(x_half=BEV_MAX_LATERAL, z_max=BEV_MAX_DEPTH)
    assert capped.outside(boxes([(0.0, 79.0), (39.5, 20.0)])).tolist() == [False, False]
    assert bev_view([boxes([(0.0, 79.0)])], max_depth=60.0).z_max == 60.0
    with pytest.raises(ValueError, match="max_depth"):
        bev_view([], max_depth=0.0)


def test_bev_header_says_when_boxes_are_off_the_plot():
    near = boxes([(0.0, 15.0)])
    plain = draw_bev([near], size=300)
    off = draw_bev([boxes([(0.0, 15.0), (0.0, 150.0)])], size=300)
    assert plain.height == off.height == 300
    assert WARNING_COLOUR == (255, 200, 0)
    assert not has_yellow_text(plain)
    assert has_yellow_text(off.crop((0, 0, off.width, 30)))  # the second header line
    # both views keep one scale for x and z: width / plotted height = 2 x_half / z_max
    view = bev_view([near])
    assert plain.width / (300 - 20) == pytest.approx(2 * view.x_half / view.z_max, rel=0.05)


def test_bev_draws_labelled_and_detected_footprints_in_their_colours():
    bev = draw_bev(
        [boxes([(-5.0, 12.0)], ground_truth=True), boxes([(5.0, 12.0)], category=2)], size=300
    )
    assert has_colour(bev, (255, 255, 255))  # labelled: white
    assert has_colour(bev, (255, 60, 60))  # a detection of category 2
    left, right = (
        bev.crop((0, 0, bev.width // 2, 300)),
        bev.crop((bev.width // 2, 0, bev.width, 300)),
    )
    assert has_colour(left, (255, 255, 255)) and not has_colour(left, (255, 60, 60))
    assert has_colour(right, (255, 60, 60)) and not has_colour(right, (255, 255, 255))


# ----------------------------------------------------------------------------- the frame


def test_frame_drawing_holds_both_panels_and_a_footer():
    labelled = boxes([(1.0, 12.0), (-4.0, 25.0)], ground_truth=True)
    detections = boxes([(1.2, 12.5), (6.0, 30.0)], scores=[0.9, 0.1])
    drawn = draw_frame(frame(), CALIB, labelled=labelled, detections=detections,
                       classes=("Car", "Pedestrian", "Cyclist"), score_thresh=0.5)  # fmt: skip
    # the 128-pixel frame is enlarged to 375 pixels; the BEV is as high, the footer below
    camera, calib = enlarge(frame(), CALIB, 375)
    shown = detections.scoring_at_least(0.5)
    expected_camera = draw_boxes_on_image(
        draw_boxes_on_image(camera, labelled, calib), shown, calib
    )
    expected_bev = draw_bev([labelled, shown], size=375, calib=calib, image_width=camera.width)
    assert drawn.size == (camera.width + expected_bev.width, 375 + footer_height(375))
    assert drawn.crop((0, 0, camera.width, 375)).tobytes() == expected_camera.tobytes()
    bev = drawn.crop((camera.width, 0, drawn.width, 375))
    assert bev.tobytes() == expected_bev.tobytes()
    # the detection below the threshold is drawn nowhere
    everything = draw_bev([labelled, detections], size=375, calib=calib, image_width=camera.width)
    assert bev.tobytes() != everything.tobytes()


def test_frame_drawing_of_a_large_image_keeps_its_size():
    drawn = draw_frame(frame(1242, 375), CALIB, detections=boxes([(0.0, 10.0)], scores=[0.8]))
    assert drawn.height == 375 + footer_height(375) and drawn.width > 1242


def test_caption_counts_what_passed_the_threshold():
    detections = boxes([(0.0, 10.0), (1.0, 20.0), (2.0, 30.0)], scores=[0.9, 0.4, 0.1])
    assert detection_caption(detections, 0.3) == "2 of 3 detections scoring >= 0.30 drawn"
    assert detection_caption(detections, 0.95) == (
        "no detection scored >= 0.95 (3 below it, best 0.90)"
    )
    assert detection_caption(boxes([], scores=[]), 0.3) == "no detections"
    assert detection_caption(None, 0.3).startswith("labelled boxes only")
    # boxes without scores (e.g. result files without a score column) all pass
    assert detection_caption(boxes([(0.0, 10.0)]), 0.99).startswith("1 of 1")


def test_the_caption_warns_when_nothing_passed():
    detections = boxes([(0.0, 10.0)], scores=[0.2])
    passed = draw_frame(frame(), CALIB, detections=detections, score_thresh=0.1)
    failed = draw_frame(frame(), CALIB, detections=detections, score_thresh=0.5)
    footer = (0, 375, passed.width, passed.height)
    assert WARNING_TEXT == (255, 200, 0)
    assert not has_yellow_text(passed.crop(footer))
    assert has_yellow_text(failed.crop(footer))


def test_legend_shows_labelled_boxes_and_each_class_colour():
    classes = ("Car", "Pedestrian", "Cyclist")
    both = draw_frame(frame(), CALIB, labelled=boxes([], ground_truth=True),
                      detections=boxes([], scores=[]), classes=classes)  # fmt: skip
    footer = both.crop((0, 375, both.width, both.height))
    for colour in ((255, 255, 255), (0, 220, 0), (255, 60, 60), (60, 140, 255)):
        assert has_colour(footer, colour)
    labelled_only = draw_frame(frame(), CALIB, labelled=boxes([], ground_truth=True))
    footer = labelled_only.crop((0, 375, labelled_only.width, labelled_only.height))
    assert has_colour(footer, (255, 255, 255)) and not has_colour(footer, (0, 220, 0))


def test_boxes_to_draw_check_and_filter_their_scores():
    with pytest.raises(ValueError, match="score"):
        BoxesToDraw(torch.zeros(2, 6), torch.zeros(2), torch.ones(2, dtype=torch.int64),
                    ["a", "b"], score=torch.zeros(3))  # fmt: skip
    detections = boxes([(0.0, 10.0), (1.0, 20.0)], scores=[0.2, 0.7])
    kept = detections.scoring_at_least(0.5)
    assert (
        len(kept) == 1 and kept.bbox3d[0, 2] == 20.0 and kept.score.tolist() == [pytest.approx(0.7)]
    )
    assert kept.labels == ["Car"] and len(detections.scoring_at_least(0.0)) == 2
