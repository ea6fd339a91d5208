"""Grouping denials into findings: by principal and owning account, de-duplicated, windowed, sorted."""

from datetime import UTC, datetime

from analysis.denials import denial_row
from analysis.findings import deduplicate, denial_frame, findings, in_window
from tests import factories as f


def _findings(records):
    return findings(deduplicate(denial_frame(denial_row(r) for r in records)))


def test_sessions_of_one_role_group_into_one_finding_with_per_action_counts():
    records = [
        f.record(identity=f.assumed_role("Deploy", f"run-{i}"), event_time=f"2026-11-28T0{i}:00:00Z")
        for i in range(1, 4)
    ]
    records.append(f.record("ListOperations", identity=f.assumed_role("Deploy", "run-9")))
    [finding] = _findings(records)
    assert finding["principal"]["arn"] == "arn:aws:iam::111122223333:role/Deploy"
    assert finding["principal"]["sessions"] == ["run-1", "run-2", "run-3", "run-9"]
    assert finding["denials"] == 4
    assert [(a["action"], a["count"]) for a in finding["actions"]] == [
        ("apprunner:DescribeService", 3),
        ("apprunner:ListOperations", 1),
    ]
    describe = finding["actions"][0]
    assert (describe["first_seen"], describe["last_seen"]) == ("2026-11-28T01:00:00Z", "2026-11-28T03:00:00Z")
    assert describe["resources"] == [f.service_arn()]


def test_repeats_of_one_event_id_in_one_account_count_once_and_idless_records_never_merge():
    rec = f.record(event_id="11111111-2222-3333-4444-555555555555")
    other_account_copy = {**rec, "recipientAccountId": f.OTHER_ACCOUNT}
    no_id = f.record(event_id=None)
    frame = deduplicate(denial_frame(denial_row(r) for r in [rec, dict(rec), other_account_copy, no_id, dict(no_id)]))
    assert len(frame) == 4


def test_one_finding_per_principal_and_owning_account_sorted_by_denials():
    mine = [f.record() for _ in range(2)]
    theirs = [f.record(request={"serviceArn": f.service_arn(account=f.OTHER_ACCOUNT)}) for _ in range(3)]
    result = _findings(mine + theirs)
    assert [(x["target_account_id"], x["denials"], x["cross_account"]) for x in result] == [
        (f.OTHER_ACCOUNT, 3, True),
        (f.ACCOUNT, 2, False),
    ]


def test_pass_role_on_create_service_is_the_action_refused():
    msg = (
        "User: arn:aws:sts::111122223333:assumed-role/Deploy/ci is not authorized to perform: iam:PassRole on "
        "resource: arn:aws:iam::111122223333:role/AppRunnerInstanceRole because no identity-based policy allows "
        "the iam:PassRole action"
    )
    rec = f.record(
        "CreateService", identity=f.assumed_role("Deploy", "ci"), error_message=msg, request={"serviceName": "api"}
    )
    [finding] = _findings([rec])
    assert finding["actions"][0]["action"] == "iam:PassRole"
    assert finding["actions"][0]["resources"] == ["arn:aws:iam::111122223333:role/AppRunnerInstanceRole"]


def test_resources_inferred_from_the_request_when_the_message_names_none():
    create = f.record("CreateService", error_message="Access Denied", request={"serviceName": "api"})
    listing = f.record("ListServices", error_message=None, request={})
    [finding] = _findings([create, listing])
    by_action = {a["action"]: a for a in finding["actions"]}
    assert by_action["apprunner:CreateService"]["resources"] == [
        "arn:aws:apprunner:us-east-1:111122223333:service/api/*"
    ]
    assert by_action["apprunner:CreateService"]["resource_origin"] == ["request"]
    assert by_action["apprunner:ListServices"]["resources"] == ["*"]
    assert by_action["apprunner:CreateService"]["reasons"] == ["unknown"]


def test_window_is_half_open_on_event_time():
    records = [f.record(event_time=t) for t in ("2026-11-27T23:59:59Z", "2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z")]
    frame = denial_frame(denial_row(r) for r in records)
    kept = in_window(frame, datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    assert len(kept) == 1


def test_low_confidence_for_one_or_two_events():
    assert _findings([f.record()])[0]["confidence"] == "low"
    assert _findings([f.record() for _ in range(3)])[0]["confidence"] == "normal"


def test_aws_account_caller_named_by_the_message_is_the_principal():
    msg = (
        "User: arn:aws:sts::444455556666:assumed-role/PartnerReadOnly/s1 is not authorized to perform: "
        f"apprunner:DescribeService on resource: {f.service_arn()} because no identity-based policy allows the "
        "apprunner:DescribeService action"
    )
    [finding] = _findings([f.record(identity=f.aws_account(), error_message=msg)])
    assert finding["principal"]["type"] == "AWSAccount"
    assert finding["principal"]["arn"] == "arn:aws:iam::444455556666:role/PartnerReadOnly"
    assert finding["cross_account"] is True


def test_each_action_lists_its_first_twenty_event_ids_in_time_order_each_once():
    # 25 denials of one action, one a minute from 10:00, read in a shuffled order; their IDs sort backwards
    # (so neither the reading order nor the IDs' order gives the time order). Expected by hand: minutes 0 to 19.
    def event_id(minute: int) -> str:
        return f"00000000-0000-4000-8000-{99 - minute:012d}"

    shuffled = [(minute * 7) % 25 for minute in range(25)]
    records = [f.record(event_time=f"2026-11-28T10:{m:02d}:00Z", event_id=event_id(m)) for m in shuffled]
    repeat = {**records[shuffled.index(3)], "recipientAccountId": f.OTHER_ACCOUNT}  # the same event, logged twice
    without_id = f.record(event_time="2026-11-28T09:00:00Z", event_id=None)  # the earliest, but nothing to link
    [finding] = _findings([*records, repeat, without_id])
    [action] = finding["actions"]
    assert action["count"] == 27
    assert action["event_ids"] == [event_id(m) for m in range(20)]


def test_an_action_whose_records_have_no_event_id_lists_none():
    [finding] = _findings([f.record(event_id=None), f.record("ListOperations")])
    ids = {a["action"]: a["event_ids"] for a in finding["actions"]}
    assert ids["apprunner:DescribeService"] == [] and len(ids["apprunner:ListOperations"]) == 1


def test_event_ids_agree_with_the_plain_definition_on_ties_untimed_repeats_and_missing_ids():
    # A second method: sort every row by (time, ID), no time last, and keep each action's first 20 distinct IDs.
    # Four hours for 3,000 IDs: many ties at each group's 20th time; some rows untimed, some without an ID,
    # repeats of an ID, and index labels that repeat (as a filtered frame may have).
    import numpy as np
    import pandas as pd

    from analysis.findings import ACTION_KEY, first_event_ids

    rng = np.random.default_rng(7)
    n = 6_000
    frame = pd.DataFrame(
        {
            "principal_key": [f"arn:aws:iam::111122223333:role/r{i}" for i in rng.integers(0, 4, n)],
            "target_account_id": "111122223333",
            "action": [f"apprunner:A{i}" for i in rng.integers(0, 3, n)],
            "event_time": pd.to_datetime("2026-11-28", utc=True) + pd.to_timedelta(rng.integers(0, 4, n), unit="h"),
            "event_id": [f"id-{i:05d}" for i in rng.integers(0, 3_000, n)],
        },
        index=rng.integers(0, 50, n),
    )
    frame.iloc[rng.integers(0, n, 900), 3] = pd.NaT
    frame.iloc[rng.integers(0, n, 300), 4] = None
    only_untimed = frame[frame["event_time"].isna() | (frame["action"] == "apprunner:A0")]

    def plain(frame):
        ordered = frame.sort_values(["event_time", "event_id"], kind="stable", na_position="last")
        firsts = ordered.groupby(ACTION_KEY, sort=False)["event_id"].agg(lambda ids: list(dict.fromkeys(ids.dropna())))
        return {key: ids[:20] for key, ids in firsts.items() if ids}

    for case in (frame, only_untimed, frame.iloc[:0]):
        assert first_event_ids(case).to_dict() == plain(case)
