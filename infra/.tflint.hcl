# tflint configuration for every directory under infra/ (run with --recursive).
#
# Only the terraform ruleset is used. It is bundled in the tflint binary, so
# nothing is downloaded. The AWS ruleset (tflint-ruleset-aws) is a separate
# plugin fetched from GitHub releases and is not available offline.

config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "all"
}
