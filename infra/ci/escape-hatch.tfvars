# Used by scripts/infra-check.sh: scan the spec 8 escape hatch (tenant and hq
# on an EC2 Auto Scaling Group) as well as the default Fargate layout.
frontend_compute = "EC2"
