// Command files measures the scan pipeline: S3 GET → clamd INSTREAM → tag,
// as the worker and the Lambda run it (internal/scan.Scanner), against raw
// `clamdscan --stream` on the same bytes from a local file, in the same
// run. Each size is uploaded as fresh objects, so no result is served from
// the per-version tag cache.
//
//	go run ./bench/files -s3 http://127.0.0.1:7070 -clamd tcp://127.0.0.1:3310 -n 5
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/scan"
)

func main() {
	endpoint := flag.String("s3", "http://127.0.0.1:7070", "S3-compatible endpoint")
	access := flag.String("access", "palisadeapp", "S3 access key")
	secret := flag.String("secret", "palisadeappsecret", "S3 secret key")
	clamd := flag.String("clamd", "tcp://127.0.0.1:3310", "clamd address")
	n := flag.Int("n", 5, "runs per size (median reported)")
	sizes := flag.String("sizes", "1,50", "object sizes in MiB")
	flag.Parse()
	ctx := context.Background()

	set := files.Settings{Endpoint: *endpoint, Region: "us-east-1", AccessKey: *access, SecretKey: *secret, PathStyle: true}
	c, err := files.NewClients(ctx, set)
	if err != nil {
		log.Fatal(err)
	}
	bucket := fmt.Sprintf("bench-files-%d", time.Now().Unix())
	if _, err := c.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		log.Fatalf("create bucket: %v", err)
	}
	sc := &scan.Scanner{S3: c.S3, Clamd: scan.Clamd{Addr: *clamd, Timeout: 5 * time.Minute, MaxStream: 64 << 20}, Log: slog.New(slog.DiscardHandler)}
	u, _ := url.Parse(*clamd)
	conf := filepath.Join(os.TempDir(), "bench-clamdscan.conf")
	host, port := "127.0.0.1", "3310"
	if u != nil && u.Host != "" {
		host, port = u.Hostname(), u.Port()
	}
	if err := os.WriteFile(conf, []byte("TCPSocket "+port+"\nTCPAddr "+host+"\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("| size | pipeline (S3 GET + INSTREAM + tag) | raw clamdscan --stream | pipeline / raw |\n|---|---|---|---|\n")
	for _, mbStr := range strings.Split(*sizes, ",") {
		var mb int
		fmt.Sscan(mbStr, &mb)
		body := make([]byte, mb<<20)
		rand.Read(body)
		path := filepath.Join(os.TempDir(), fmt.Sprintf("bench-%dmb.bin", mb))
		if err := os.WriteFile(path, body, 0o600); err != nil {
			log.Fatal(err)
		}
		var pipe, raw []time.Duration
		for i := 0; i < *n; i++ {
			key := fmt.Sprintf("obj-%d-%d", mb, i)
			put, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(body)})
			if err != nil {
				log.Fatalf("put: %v", err)
			}
			t0 := time.Now()
			res, err := sc.Scan(ctx, scan.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(put.VersionId)})
			d := time.Since(t0)
			if err != nil || res.Status != scan.Clean || res.Cached {
				log.Fatalf("pipeline scan: %+v %v", res, err)
			}
			pipe = append(pipe, d)

			t0 = time.Now()
			out, err := exec.Command("clamdscan", "--config-file="+conf, "--stream", "--no-summary", path).CombinedOutput()
			d = time.Since(t0)
			if err != nil || !strings.Contains(string(out), "OK") {
				log.Fatalf("clamdscan: %v %s", err, out)
			}
			raw = append(raw, d)
		}
		p, r := median(pipe), median(raw)
		mbps := func(d time.Duration) float64 { return float64(mb) / d.Seconds() }
		fmt.Printf("| %d MiB | %.0f ms, %.1f MiB/s | %.0f ms, %.1f MiB/s | %.0f %% |\n", mb,
			ms(p), mbps(p), ms(r), mbps(r), 100*mbps(p)/mbps(r))
		os.Remove(path)
	}
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
