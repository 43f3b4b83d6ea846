"""The Phi Agents AWS CDK app: one construct per concern, wired together in ``stack.PhiStack``."""
