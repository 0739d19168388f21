"""Each detector on hand-built timelines: it fires on its pattern, stays quiet on the legitimate look-alike, and
the findings do not depend on the order events arrive in."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portguard.tracking.detectors import Tracker, parse_params
from portguard.tracking.models import TrackEvent
from tests.tracking.conftest import BOX, clean_import, dcsa


def findings(events, params=None):
    tracker = Tracker(params)
    for raw in events:
        ev = TrackEvent.model_validate(raw)
        tracker.add(ev.flat(key=f"org:{ev.eventID}"))
    return sorted((f.detector, f.key.split(":")[-1]) for tl in tracker.timelines.values() for f in tl.findings.values())


def _all(events, params=None):
    tracker = Tracker(params)
    for raw in events:
        ev = TrackEvent.model_validate(raw)
        tracker.add(ev.flat(key=f"org:{ev.eventID}"))
    return [f for tl in tracker.timelines.values() for f in tl.findings.values()]


def detectors_fired(events, params=None):
    return {d for d, _ in findings(events, params)}


def test_a_clean_import_raises_nothing():
    assert findings(clean_import()) == []


def test_gate_out_before_discharge_and_without_customs_release():
    events = clean_import()
    no_release = [e for e in events if e["eventClassification"].get("equipmentEventTypeCode") != "CUSR"]
    assert detectors_fired(no_release) == {"impossible_order"}
    early = [*events[:-1], dcsa("GTOT", -30, seals=["ML123456"])]
    assert "impossible_order" in detectors_fired(early)


def test_door_opened_in_the_yard_but_not_during_an_inspection_or_a_bounce():
    base = clean_import()
    rip = [*base, dcsa("DRO", 300, spot="YARD B12"), dcsa("DRC", 312)]
    assert detectors_fired(rip) == {"door_open"}
    bounce = [*base, dcsa("DRO", 300), dcsa("DRC", 300.1)]
    assert findings(bounce) == []
    inspected = [*base, dcsa("CUSI", 200), dcsa("DRO", 300), dcsa("DRC", 340), dcsa("INSP", 400)]
    assert "door_open" not in detectors_fired(inspected)


def test_an_opening_whose_close_was_lost_lasts_until_the_next_opening():
    base = clean_import()
    lost = [*base[:4], dcsa("DRO", 700, spot="YARD B12"), dcsa("DRO", 730), dcsa("DRC", 730.05), *base[4:]]
    (finding,) = [f for f in _all(lost) if f.detector == "door_open"]
    assert "open 30 min" in finding.reason and "no close reported" in finding.reason


def test_seal_changed_without_reseal_but_not_after_one():
    base = clean_import()
    swapped = [*base[:-1], dcsa("GTOT", 1441, seals=["XX999"])]
    assert detectors_fired(swapped) == {"seal_tamper"}
    resealed = [*base[:-1], dcsa("INSP", 900), dcsa("RSEA", 910, seals=["CUS-1"]), dcsa("GTOT", 1441, seals=["CUS-1"])]
    assert "seal_tamper" not in detectors_fired(resealed)


def test_seals_are_compared_within_a_stay_not_with_a_clone_of_the_number():
    base = clean_import()
    # a second box with this number gates in with seals of its own while the real one is in the yard
    twin = [*base, dcsa("GTIN", 700, seals=["SH-777"])]
    assert detectors_fired(twin) == {"clone"}
    # the same number loaded far away with other seals says nothing about this stay's seals
    far = [*base, dcsa("LOAD", 3 * 1440, place="DEHAM", facility="EGH", seals=["XX1"])]
    assert "seal_tamper" not in detectors_fired(far)


def test_clone_seen_elsewhere_while_inside_and_iso_type_that_cannot_change():
    base = clean_import()
    elsewhere = [*base, dcsa("GTIN", 700, place="BEANR", facility="PSA")]
    assert "clone" in detectors_fired(elsewhere)
    other_type = [*base, dcsa("AVPU", 800, iso="45R1")]
    assert "clone" in detectors_fired(other_type)
    unsure_camera = [*base, dcsa("CAMERA", 700, place="BEANR", facility="PSA", confidence=0.5)]
    assert "clone" not in detectors_fired(unsure_camera)
    again = [*base, dcsa("DISC", 800)]
    assert "clone" in detectors_fired(again)


def test_clone_ignores_paperwork_and_a_short_inter_terminal_trip():
    base = clean_import(start=600)
    # the line issues the release right (stamped at the terminal) while the box is still at Felixstowe
    early_right = [dcsa("LOAD", 0, place="GBFXT", facility="FXT"), dcsa("ISSUED", 30), *base[1:]]
    assert "clone" not in detectors_fired([*early_right[:1], base[0], *early_right[1:]])
    itt = [*base, dcsa("GTIN", 600 + 1441 + 20, facility="UWT")]
    assert "clone" not in detectors_fired(itt)
    too_fast = [*base, dcsa("GTIN", 600 + 1441 + 10, place="DEHAM", facility="EGH")]
    assert "clone" in detectors_fired(too_fast)


def test_hotel_container_heavy_while_empty_or_opened_while_empty():
    arrive = [
        dcsa("GTIN", 0, empty=True, iso="22G1"),
        dcsa("LOC", 1, classifier="PLN", spot="E1"),
        dcsa("LOC", 5, spot="E1"),
    ]
    assert findings([*arrive, dcsa("SCAN", 10, weight=2300)]) == []
    assert detectors_fired([*arrive, dcsa("SCAN", 10, weight=3250)]) == {"hotel"}
    # opened in the yard while empty: a hotel and a door opening both
    assert detectors_fired([*arrive, dcsa("DRO", 200), dcsa("DRC", 215)]) == {"hotel", "door_open"}
    # opened for the damage survey right after the gate-in: nothing
    assert findings([*arrive, dcsa("DRO", 20), dcsa("DRC", 25)]) == []


def test_hotel_weight_against_the_tare_marked_on_the_box_when_given():
    arrive = [dcsa("GTIN", 0, empty=True, iso="22G1")]
    # 2,700 kg is within what the heaviest empty 20-foot box plus dunnage weighs, but 500 kg over this box's tare
    assert findings([*arrive, dcsa("SCAN", 10, weight=2700)]) == []
    assert detectors_fired([*arrive, dcsa("SCAN", 10, weight=2700, tare=2200)]) == {"hotel"}
    assert findings([*arrive, dcsa("SCAN", 10, weight=2400, tare=2200)]) == []


def test_unplanned_yard_move_and_abnormal_dwell():
    base = clean_import()
    moved = [*base, dcsa("LOC", 700, spot="YARD Z99")]
    assert detectors_fired(moved) == {"yard_move"}
    planned = [*base, dcsa("LOC", 650, classifier="PLN", spot="YARD Z99"), dcsa("LOC", 700, spot="YARD Z99")]
    assert findings(planned) == []
    late = 15 * 1440
    long_stay = [*base[:-3], dcsa("CAMERA", late - 2), dcsa("GATE_ALLOWED", late - 1, driver="drv-7")]
    long_stay.append(dcsa("GTOT", late, seals=["ML123456"]))
    assert "yard_move" in detectors_fired(long_stay)


def test_selected_box_leaving_unscanned():
    base = clean_import()
    bypass = [*base, dcsa("CUSS", 100)]
    assert detectors_fired(bypass) == {"lane_bypass"}
    scanned = [*base, dcsa("CUSS", 100), dcsa("SCAN", 200, verdict="CLEAR")]
    assert findings(scanned) == []


def test_pick_up_without_valid_release_right():
    base = clean_import()
    no_gate = [
        e
        for e in base
        if e["eventClassification"]["eventTypeCode"] != "RELEASE" or e["releaseDetails"]["action"] != "GATE_ALLOWED"
    ]
    assert detectors_fired(no_gate) == {"release_fraud"}
    other_driver = [*base[:-2], dcsa("GATE_ALLOWED", 1440, driver="drv-9"), base[-1]]
    assert detectors_fired(other_driver) == {"release_fraud"}


def test_an_empty_picked_up_on_a_right_needs_the_gate_check_too():
    empty = [dcsa("DISC", 0, empty=True, iso="22G1"), dcsa("ISSUED", 600), dcsa("TRANSFERRED", 620, driver="drv-7")]
    assert detectors_fired([*empty, dcsa("GTOT", 1441, empty=True)]) == {"release_fraud"}
    checked = [*empty, dcsa("GATE_ALLOWED", 1440, driver="drv-7"), dcsa("GTOT", 1441, empty=True)]
    assert findings(checked) == []


def test_a_late_customs_release_withdraws_the_alert():
    events = clean_import()
    cusr = next(e for e in events if e["eventClassification"].get("equipmentEventTypeCode") == "CUSR")
    tracker = Tracker()
    raised, withdrawn = [], []
    for raw in [e for e in events if e is not cusr] + [cusr]:
        ev = TrackEvent.model_validate(raw)
        change = tracker.add(ev.flat(key=f"o:{ev.eventID}"))
        raised += change.raised
        withdrawn += change.withdrawn
    assert [f.detector for f in raised] == ["impossible_order"]
    assert [f.detector for f in withdrawn] == ["impossible_order"]
    assert not tracker.timelines[BOX].findings


def test_a_redelivered_event_changes_nothing():
    events = clean_import()
    assert findings([*events, events[-1], events[0]]) == []


def test_thresholds_are_tunable_by_name():
    rip = [*clean_import(), dcsa("DRO", 300), dcsa("DRC", 302)]
    assert "door_open" in detectors_fired(rip)
    assert "door_open" not in detectors_fired(rip, parse_params(["door_open.min_open_s=600"]))
    with pytest.raises(ValueError, match="unknown threshold"):
        parse_params(["door_open.nope=1"])


@st.composite
def scenario(draw):
    events = clean_import()
    extras = draw(
        st.lists(
            st.sampled_from(
                [
                    dcsa("DRO", 300),
                    dcsa("DRC", 310),
                    dcsa("CUSS", 100),
                    dcsa("LOC", 700, spot="YARD Z1"),
                    dcsa("GTIN", 700, place="BEANR", facility="PSA"),
                    dcsa("SCAN", 800, verdict="CLEAR"),
                ]
            ),
            max_size=4,
            unique_by=lambda e: e["eventID"],
        )
    )
    return [*events, *extras], draw(st.permutations(range(len(events) + len(extras))))


@settings(max_examples=60, deadline=None)
@given(scenario())
def test_findings_do_not_depend_on_arrival_order(case):
    events, order = case
    assert findings([events[i] for i in order]) == findings(sorted(events, key=lambda e: e["eventDateTime"]))
