"""Inspections' schemas at the edges: the HTTP bodies it accepts.

The commands are the catalog's published language (intake uses them too)."""
from marshmallow import Schema

from lianxin.catalog.inspections import (  # noqa: F401
    CloseRound, CreateChecklist, DecideFinding, FollowUp, OpenRound, PlanRectification, RaiseFinding,
    RecordAssessment, ReviseChecklist, StartRectification, SubmitRectification, VerifyRectification,
)


class AssessmentBody(RecordAssessment):
    """Over HTTP the round comes from the path."""
    class Meta:
        exclude = ("round_id",)


class SubmissionBody(SubmitRectification):
    """Over HTTP the finding comes from the path."""
    class Meta:
        exclude = ("finding_id",)


COMMANDS: dict[str, Schema] = {
    "create_checklist": CreateChecklist(), "revise_checklist": ReviseChecklist(), "open_round": OpenRound(),
    "close_round": CloseRound(), "record_assessment": AssessmentBody(), "raise_finding": RaiseFinding(),
    "decide_finding": DecideFinding(), "plan_rectification": PlanRectification(),
    "start_rectification": StartRectification(), "submit_rectification": SubmissionBody(),
    "verify_rectification": VerifyRectification(), "follow_up": FollowUp(),
}
