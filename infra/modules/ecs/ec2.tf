# Escape hatch (spec 8): with frontend_compute = "EC2" the tenant and hq
# services move from Fargate to an Auto Scaling Group of Graviton instances
# behind an ECS capacity provider. The tasks keep awsvpc networking, so the
# target groups (type ip), security groups and the image stay unchanged.

data "aws_ssm_parameter" "ecs_ami" {
  count = local.use_ec2 ? 1 : 0

  name = var.ec2_ami_parameter
}

data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ec2" {
  count = local.use_ec2 ? 1 : 0

  name               = "${var.name}-frontend-ec2"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json

  tags = var.tags
}

# The ECS agent's permissions, and SSM for patching and Session Manager
# instead of SSH.
resource "aws_iam_role_policy_attachment" "ec2" {
  for_each = local.use_ec2 ? toset([
    "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
  ]) : toset([])

  role       = aws_iam_role.ec2[0].name
  policy_arn = each.value
}

resource "aws_iam_instance_profile" "ec2" {
  count = local.use_ec2 ? 1 : 0

  name = "${var.name}-frontend-ec2"
  role = aws_iam_role.ec2[0].name

  tags = var.tags
}

resource "aws_security_group" "ec2" {
  count = local.use_ec2 ? 1 : 0

  name        = "${var.name}-frontend-ec2"
  description = "Escape-hatch ECS instances: no inbound at all (no SSH); tasks have their own ENIs and groups"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-frontend-ec2" })
}

resource "aws_vpc_security_group_egress_rule" "ec2_https" {
  for_each = local.use_ec2 ? toset(var.ec2_egress_https_cidr_blocks) : toset([])

  security_group_id = aws_security_group.ec2[0].id
  description       = "HTTPS to the ECS, ECR and SSM APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  # trivy:ignore:AVD-AWS-0104 The ECS agent and SSM agent reach AWS APIs through the NAT gateways; HTTPS only, and the group admits no inbound traffic.
  cidr_ipv4 = each.value
}

resource "aws_launch_template" "ec2" {
  count = local.use_ec2 ? 1 : 0

  name_prefix            = "${var.name}-frontend-"
  image_id               = data.aws_ssm_parameter.ecs_ami[0].value
  instance_type          = var.ec2_instance_type
  vpc_security_group_ids = [aws_security_group.ec2[0].id]
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.ec2[0].arn
  }

  # No key pair: there is no SSH (spec 5.1).
  user_data = base64encode(<<-EOT
    #!/bin/bash
    cat >>/etc/ecs/ecs.config <<CONFIG
    ECS_CLUSTER=${aws_ecs_cluster.this.name}
    ECS_ENABLE_TASK_IAM_ROLE=true
    ECS_CONTAINER_STOP_TIMEOUT=${var.stop_timeout_seconds}s
    CONFIG
  EOT
  )

  # IMDSv2 only, and one hop, so containers cannot reach the instance role.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.ec2_root_volume_gib
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-frontend-ec2" })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "ec2" {
  count = local.use_ec2 ? 1 : 0

  name                  = "${var.name}-frontend-ec2"
  vpc_zone_identifier   = var.private_subnet_ids
  min_size              = var.ec2_min_size
  max_size              = var.ec2_max_size
  protect_from_scale_in = false
  health_check_type     = "EC2"

  launch_template {
    id      = aws_launch_template.ec2[0].id
    version = "$Latest"
  }

  instance_refresh {
    strategy = "Rolling"

    preferences {
      min_healthy_percentage = 50
    }
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  dynamic "tag" {
    for_each = var.tags

    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  # The capacity provider changes the desired capacity.
  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "frontend" {
  count = local.use_ec2 ? 1 : 0

  name = local.ec2_capacity_provider

  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.ec2[0].arn
    managed_termination_protection = "DISABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = 2
    }
  }

  tags = var.tags
}
