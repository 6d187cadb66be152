package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestProductionBuildLeavesOutDevDependencies: the images are built with
// -tags nodev, and then nothing dev-only is linked in.
func TestProductionBuildLeavesOutDevDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-tags", "nodev", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := string(out)
	for _, devOnly := range []string{"github.com/alicebob/miniredis", "github.com/versity/versitygw", "internal/devmode"} {
		if strings.Contains(deps, devOnly) {
			t.Errorf("the production build links %s", devOnly)
		}
	}
	// And the default build does have the dev role.
	out, err = exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "internal/devmode") {
		t.Fatalf("default build lacks the dev role: %v", err)
	}
}
