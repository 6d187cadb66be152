// Command sbomprobe is a small Go program linking aws-sdk-go-v2, built by
// TestSBOM so the SBOM is read from a real binary's module graph without
// building all of cmd/palisade.
package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func main() { fmt.Println(aws.SDKVersion) }
