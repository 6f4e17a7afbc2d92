"""Why a citizen was not satisfied: the choices the kiosk offers after a low rating.

Each reason belongs to one of the five SIPAS factors (access to the service, the
procedure, the officer, the result, the handling of feedback) and to the Decree 61
criterion it evidences, so that the dashboard can group reasons the way the official
surveys do. The codes travel on the wire and are stored; the labels are msgids,
translated where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from hailong.i18n import N_

ReasonCode = Literal[
    "waited_too_long",
    "came_back_several_times",
    "unclear_guidance",
    "staff_attitude",
    "harassment_or_payment",
    "late_result",
    "other",
]
REASON_CODES: tuple[ReasonCode, ...] = get_args(ReasonCode)

SipasFactor = Literal["access", "procedure", "officer", "result", "feedback"]


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    label: str
    sipas_factor: SipasFactor
    decree61_criterion: str
    # Opens a case for the unit head and is never shown to the officer concerned.
    serious: bool = False


REASONS: dict[ReasonCode, Reason] = {
    reason.code: reason
    for reason in (
        Reason("waited_too_long", N_("I waited too long"), "access",
               N_("waiting time at the counter")),
        Reason("came_back_several_times", N_("I had to come back several times"), "procedure",
               N_("number of visits to settle one file")),
        Reason("unclear_guidance", N_("The guidance was unclear"), "officer",
               N_("guidance on completing the file")),
        Reason("staff_attitude", N_("The officer's attitude"), "officer",
               N_("attitude and conduct of the officer")),
        Reason("harassment_or_payment", N_("Harassment or a request for unofficial payment"),
               "officer", N_("harassment or unofficial payments"), serious=True),
        Reason("late_result", N_("The result came late"), "result",
               N_("results returned on time")),
        Reason("other", N_("Something else"), "feedback", N_("other feedback")),
    )
}

SIPAS_FACTOR_LABELS: dict[SipasFactor, str] = {
    "access": N_("Access to the service"),
    "procedure": N_("Administrative procedure"),
    "officer": N_("Officers serving the citizen"),
    "result": N_("Result of the service"),
    "feedback": N_("Receiving and handling feedback"),
}
