"""AWS ECR's provider rules with no network: addresses in every partition, role ARNs, the
policies the wizard shows, the session name AWS validates."""

from __future__ import annotations

import json
import re

import pytest

from webapp.registry_client.providers import aws_ecr, ecr


@pytest.mark.parametrize(
    ("host", "account", "region", "partition", "fips"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012", "eu-west-1", "aws", False),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012", "cn-north-1",
         "aws-cn", False),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "123456789012",
         "us-gov-west-1", "aws-us-gov", True),
        ("123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", "123456789012", "us-iso-east-1",
         "aws-iso", False),
        ("123456789012.DKR.ECR.US-ISOB-EAST-1.SC2S.SGOV.GOV", "123456789012", "us-isob-east-1",
         "aws-iso-b", False),
    ],
)
def test_every_partitions_hosts_are_read(host, account, region, partition, fips):
    assert aws_ecr.parse_host(host) == aws_ecr.EcrHost(account, region, partition, fips)
    assert ecr.is_ecr_host(host)


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("registry.example.com", "not an AWS ECR registry address"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example", "not an AWS ECR"),
        ("12345.dkr.ecr.eu-west-1.amazonaws.com", "not an AWS ECR"),  # not a 12-digit account
        ("123456789012.dkr.ecr.xx-nowhere-1.amazonaws.com", "AWS has no region “xx-nowhere-1”"),
        # A China region under the global suffix: another partition's host, refused.
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com", "aws-cn partition"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com.cn", "aws partition"),
    ],
)
def test_anything_else_is_refused_with_its_reason(host, words):
    with pytest.raises(aws_ecr.AwsAddressError, match=re.escape(words)):
        aws_ecr.parse_host(host)


def test_role_arns_name_their_partition():
    assert aws_ecr.parse_role_arn("arn:aws:iam::123456789012:role/a/b-c") == (
        "aws", "123456789012")
    assert aws_ecr.parse_role_arn("arn:aws-cn:iam::123456789012:role/x")[0] == "aws-cn"
    for bad in ("arn:aws:iam::123456789012:user/x", "arn:aws:iam::1234:role/x",
                "arn:aws-moon:iam::123456789012:role/x", "role/x"):
        with pytest.raises(aws_ecr.AwsAddressError):
            aws_ecr.parse_role_arn(bad)


def test_the_policies_say_what_aws_needs():
    trust = json.loads(aws_ecr.trust_policy("arn:aws:iam::111122223333:role/platform", "rc-x"))
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:role/platform"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "rc-x"}}
    host = aws_ecr.parse_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
    auth, pull = json.loads(aws_ecr.permissions_policy(host, "team"))["Statement"]
    assert auth == {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
    assert pull["Action"] == list(aws_ecr.PULL_ACTIONS) and len(pull["Action"]) == 3
    assert pull["Resource"] == "arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/*"
    everything = json.loads(aws_ecr.permissions_policy(host))["Statement"][1]["Resource"]
    assert everything.endswith(":repository/*")


def test_session_names_and_external_ids_fit_what_aws_accepts():
    import uuid

    name = aws_ecr.session_name(uuid.uuid4())
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", name, re.ASCII)
    ids = {aws_ecr.new_external_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[\w+=,.@:/-]{2,1224}", value, re.ASCII) for value in ids)
