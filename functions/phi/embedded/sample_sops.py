"""Sample SOPs for the demo warehouse: the documents a customer would upload to teach its analyst.
The thresholds they state are the ones the report's anomaly checks use by default."""

from __future__ import annotations

import io

SHIPPING_SOP_TITLE = "SOP-OUT-04 Outbound shipping and carrier exceptions"
SHIPPING_SOP = [
    ("Heading 1", SHIPPING_SOP_TITLE),
    ("Heading 2", "1. Purpose"),
    (
        "Normal",
        "This procedure sets how outbound orders are released to carriers at the Leeds distribution "
        "centre and what the shift lead does when shipments leave after the time promised to the customer.",
    ),
    ("Heading 2", "2. Service level"),
    (
        "Normal",
        "Late shipments must stay at or below 5% of the orders due on any day. An order is late when it "
        "ships after its promised ship time, or is still unshipped at the end of the day it was promised.",
    ),
    (
        "Normal",
        "When the late rate exceeds 5% the shift lead opens a carrier exception report before 09:00 the "
        "next morning, lists the late order numbers, and informs customer service so that customers can "
        "be told of the delay.",
    ),
    ("Heading 2", "3. Missed carrier pickups"),
    (
        "Normal",
        "If a carrier misses a scheduled pickup wave, the dock supervisor calls the carrier's depot within "
        "15 minutes, moves the orders to the next wave of an alternative carrier, and records the missed "
        "pickup in the carrier scorecard.",
    ),
    ("Heading 2", "4. Backlog"),
    (
        "Normal",
        "Open orders at the end of the day must not exceed 200. Above that, the operations manager approves "
        "overtime for the early shift and releases the oldest orders first. No open order may be older than "
        "24 hours.",
    ),
]

PICKING_SOP = """# SOP-PCK-02 Picking performance and equipment outages

## 1. Pick rate

Every picker is expected to sustain at least 10 order lines per hour over their shift once they have picked
20 lines or more. A picker below 10 lines per hour is coached by the shift lead during the same shift; the
cause (equipment, slotting, training, health) is written in the shift log.

## 2. Hourly throughput

If the lines picked in an hour fall below half of the day's median hour, the shift lead checks for a
scanner or system outage. During an outage pickers switch to paper pick lists, which are keyed in within
30 minutes of the systems coming back.

## 3. Safety

Pickers never climb racking. Damaged pallets are reported to the safety officer before picking resumes.
"""


SAFETY_SOP = """# SOP-SAF-01 Incident reporting and corrective actions

## 1. Reporting

Every incident and every near miss is logged in the incident log before the end of the shift in which it
happened, with the zone, the type and the severity. The shift lead checks the area is safe before work resumes.

## 2. Corrective actions

Each incident gets a corrective action with an owner and a due date set by its severity: high severity within
3 days, medium within 7 days, low within 14 days. A near miss may be closed with a briefing of the shift.

## 3. Overdue actions and escalation

A corrective action not completed by its due date is overdue. The safety officer lists the overdue actions
and their owners in the weekly incident summary every Monday. An action more than 7 days overdue is escalated
to the site manager, who agrees a new date with its owner.

## 4. Forklifts and pedestrians

Forklifts and pedestrians are kept apart by marked walkways. Every forklift and pedestrian incident is reviewed
for the crossing point: add a marked crossing, a convex mirror or a speed limit at blind corners.

## 5. Spills in the hazardous goods cage

A spill in the hazardous goods cage (zone H) or the chill zone is contained with the spill kit at once, the area
is closed, and the safety data sheet of the product is followed. The spill kit is refilled the same day.

## 6. Racking damage

Damaged racking is offloaded and closed at once. A racking inspector grades the damage: red means the bay
stays empty until repaired, amber means repair within 4 weeks.

## 7. Slips, trips and manual handling

Housekeeping rounds every two hours remove shrink-wrap and spills from the aisles. Heavy SKUs are slotted
between knee and shoulder height; pickers refresh their lifting training every year.
"""


def shipping_sop_docx() -> bytes:
    from docx import Document

    document = Document()
    for style, text in SHIPPING_SOP:
        document.add_paragraph(text, style=style)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
