terraform {
  # Pure naming logic: no provider, so `tofu test` runs it offline.
  required_version = ">= 1.6"
}
