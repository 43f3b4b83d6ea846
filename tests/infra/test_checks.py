"""cdk-nag (AwsSolutions), cfn-lint, the ASL file and the CDK CLI on the synthesized app."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra_cdk.config import ASL_PLACEHOLDERS, REPO_ROOT, STATE_MACHINE_FILE, Handler
from infra_cdk.synthesis import Synthesis
from phi import names

pytestmark = pytest.mark.infra

# CDK writes explicit DependsOn next to GetAtt references (e.g. function -> its role); harmless.
CFN_LINT_IGNORED = ["W3005"]
LINT_REGIONS = ["us-east-1", "eu-west-1", "eu-central-1"]


def test_cdk_nag_aws_solutions_has_no_unacknowledged_findings(dev: Synthesis) -> None:
    assert dev.validation_error is None, dev.validation_error
    report = json.loads((dev.outdir / "validation-report.json").read_text(encoding="utf-8"))
    violations = [violation for plugin in report["pluginReports"] for violation in plugin.get("violations", [])]
    assert violations == []


def test_every_acknowledgment_gives_a_reason(dev: Synthesis) -> None:
    acknowledgments = [
        entry.data
        for construct in dev.stack.node.find_all()
        for entry in construct.node.metadata
        if "acknowledge" in entry.type.lower()
    ]
    assert acknowledgments, "the stack acknowledges some findings"
    for acknowledgment in acknowledgments:
        text = json.dumps(acknowledgment)
        assert len(text) > 60, f"acknowledgment without a real reason: {text}"


def _flags_a_major_version_as_deprecated(match: Any) -> bool:
    """W3691 lists a PostgreSQL major version alone ("16") as deprecated once some of its minors are: RDS takes a
    major version alone and creates its current default minor ("If a major version is specified but a minor version
    is not, Amazon RDS defaults to a recent release of the major version"; cfn-lint fixed the same for E3691 in
    aws-cloudformation/cfn-lint#3849). A pinned minor that is deprecated is still reported."""
    return (
        match.rule.id == "W3691" and re.search(r"Engine version '\d+' for engine 'postgres'", match.message) is not None
    )


def test_cfn_lint_is_clean(dev: Synthesis) -> None:
    matches = lint_file(dev.template_path, ManualArgs(regions=LINT_REGIONS, ignore_checks=CFN_LINT_IGNORED))
    assert [str(match) for match in matches if not _flags_a_major_version_as_deprecated(match)] == []


def test_state_machine_definition_is_the_asl_file_with_only_placeholders_substituted(dev: Synthesis) -> None:
    (state_machine,) = dev.resources("AWS::StepFunctions::StateMachine").values()
    properties = state_machine["Properties"]
    assert "DefinitionString" not in properties
    asset_file = dev.outdir / f"asset.{properties['DefinitionS3Location']['Key']}"
    assert asset_file.read_bytes() == STATE_MACHINE_FILE.read_bytes()

    placeholders = set(re.findall(r"\$\{(\w+)\}", STATE_MACHINE_FILE.read_text(encoding="utf-8")))
    substitutions = properties["DefinitionSubstitutions"]
    assert set(substitutions) == placeholders == set(names.ASL_PLACEHOLDERS)
    assert set(ASL_PLACEHOLDERS) == set(names.FUNCTION_PLACEHOLDERS)

    functions = dev.resources("AWS::Lambda::Function")
    # Service integrations name the stack's partition (arn:aws-cn:states:::… in China), not arn:aws
    assert substitutions[names.PARTITION_PLACEHOLDER] == {"Ref": "AWS::Partition"}
    assert '"arn:aws:' not in STATE_MACHINE_FILE.read_text(encoding="utf-8")
    for placeholder, handler in ASL_PLACEHOLDERS.items():
        logical_id, attribute = substitutions[placeholder]["Fn::GetAtt"]
        assert attribute == "Arn"
        assert functions[logical_id]["Properties"]["Handler"] == handler.value


def test_state_machine_is_standard_logged_and_traced(dev: Synthesis) -> None:
    (state_machine,) = dev.resources("AWS::StepFunctions::StateMachine").values()
    properties = state_machine["Properties"]
    assert properties["StateMachineType"] == "STANDARD"  # waitForTaskToken needs Standard
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["StateMachineName"] == "phi-dev-agent-task"
    assert Handler.THINK.value in {f["Properties"]["Handler"] for f in dev.resources("AWS::Lambda::Function").values()}


CDK_CLI = REPO_ROOT / "infra_cdk" / "node_modules" / ".bin" / "cdk"


@pytest.mark.skipif(not CDK_CLI.exists(), reason="CDK CLI not installed: npm ci --prefix infra_cdk")
def test_cdk_cli_synthesizes_the_app(dev: Synthesis, tmp_path: Path) -> None:
    """What the README tells users to run: the pinned CLI, cdk.json, app.py (cdk-nag included)."""
    # cdk.json runs `python app.py`: make that the interpreter running the tests (the venv's).
    python_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{python_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(CDK_CLI), "synth", "--quiet", "--output", str(tmp_path / "cdk.out"), "-c", "stage=dev"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((tmp_path / "cdk.out" / "PhiAgents-dev.template.json").read_text(encoding="utf-8"))
    # Same resources; only the CLI's CDKMetadata and the API deployment's content hash may differ.
    assert resource_types(template) - Counter({"AWS::CDK::Metadata": 1}) == resource_types(dev.template_json)


def resource_types(template: dict[str, Any]) -> Counter[str]:
    return Counter(resource["Type"] for resource in template["Resources"].values())


def _readme_section(heading: str) -> str:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"\n{heading}\n")
    end = text.find("\n### ", start + 1)
    return text[start:end]


def test_the_readme_builds_before_any_cdk_command_that_runs_the_app() -> None:
    """cdk bootstrap, deploy and destroy all run `python app.py` (cdk.json's app), which refuses to synthesize
    without the built layer and code asset: on a fresh clone the build comes first, and tearing down from a
    machine without it goes through the deploy's cloud assembly (cdk.out) or CloudFormation."""
    deploy = _readme_section("### Deploy")
    block = deploy[deploy.index("```bash") : deploy.index("```", deploy.index("```bash") + 3)]
    lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    build = next(i for i, line in enumerate(lines) if "layers/build_layers.py" in line)
    cdk_commands = [i for i, line in enumerate(lines) if re.search(r"\bcdk (bootstrap|deploy|synth|destroy)\b", line)]
    assert cdk_commands and min(cdk_commands) > build, lines
    teardown = _readme_section("### Tear down")
    assert "cdk destroy --app cdk.out" in teardown and "aws cloudformation delete-stack" in teardown


@pytest.mark.skipif(not CDK_CLI.exists(), reason="CDK CLI not installed: npm ci --prefix infra_cdk")
def test_the_deploys_cloud_assembly_names_the_stack_without_the_app(dev: Synthesis, tmp_path: Path) -> None:
    """`cdk destroy --app cdk.out` reads the stacks from the assembly a synth or deploy left, without running
    app.py (so without the build): here from a folder with no cdk.json and no Python on PATH."""
    node_dir = Path(subprocess.run(["which", "node"], capture_output=True, text=True, check=True).stdout.strip()).parent
    result = subprocess.run(
        [str(CDK_CLI), "ls", "--app", str(dev.outdir)],
        cwd=tmp_path,
        env={"PATH": str(node_dir), "HOME": str(tmp_path), "CDK_DISABLE_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.split() == [dev.config.stack_name]


def test_the_missing_build_error_says_how_to_tear_down_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra_cdk import lambdas

    monkeypatch.setattr(lambdas, "CODE_ASSET_DIR", tmp_path / "missing")
    with pytest.raises(lambdas.LayerMissingError) as missing:
        lambdas.function_code()
    assert "python layers/build_layers.py" in str(missing.value)
    assert "cdk destroy --app cdk.out" in str(missing.value)
