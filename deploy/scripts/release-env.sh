#!/usr/bin/env bash
# Prints the release being built as shell assignments, for the buildspecs:
#
#   bash deploy/scripts/release-env.sh > release.env && . ./release.env
#
# RELEASE_TAG is the release tag on HEAD (the pipelines start on a GitHub
# release, which tags the commit); SOURCE_DATE is the commit time, which
# stamps the image so the same commit always gives the same digest. Fails
# when HEAD carries no release tag: images are never tagged otherwise
# (spec 4.3, never latest).
set -euo pipefail

# A clone made by CodeBuild may lack tags; fetching them is best effort
# because a local checkout has no remote credentials to offer.
git fetch --tags --force --quiet origin 2>/dev/null || true

commit=$(git rev-parse HEAD)
tag=$(git tag --points-at HEAD | grep -E '^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$' | sort -V | tail -n 1 || true)
if [ -z "${tag}" ]; then
  echo "release-env: commit ${commit} has no release tag (vMAJOR.MINOR.PATCH); publish a GitHub release to deploy it" >&2
  exit 1
fi
date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ HEAD)

printf 'export RELEASE_TAG=%q\n' "${tag}"
printf 'export COMMIT=%q\n' "${commit}"
printf 'export SOURCE_DATE=%q\n' "${date}"
