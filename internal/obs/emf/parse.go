package emf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Datum is one metric value a document declares.
type Datum struct {
	Namespace  string
	Name, Unit string
	Dimensions map[string]string // one dimension set's keys and values
	Value      float64
}

// Parse checks one log line against the EMF specification, as far as
// CloudWatch needs it to extract metrics, and returns what it declares:
// an _aws object with a millisecond Timestamp and at least one directive;
// each directive with a Namespace, Dimensions (arrays of at most 30 keys,
// each a top-level string) and Metrics (at most 100, each with a Name that
// is a top-level number or array of numbers, and a valid Unit).
func Parse(line []byte) ([]Datum, error) {
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	raw, ok := doc["_aws"]
	if !ok {
		return nil, fmt.Errorf("no _aws object")
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  *string    `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name *string `json:"Name"`
				Unit *string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	if meta.Timestamp == nil {
		return nil, fmt.Errorf("_aws.Timestamp missing")
	}
	if ms, err := meta.Timestamp.Int64(); err != nil || ms < 1e12 {
		return nil, fmt.Errorf("_aws.Timestamp %s is not epoch milliseconds", meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics is empty")
	}
	str := func(k string) (string, error) {
		v, ok := doc[k]
		if !ok {
			return "", fmt.Errorf("dimension %q is not a top-level member", k)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", fmt.Errorf("dimension %q is not a string", k)
		}
		return s, nil
	}
	var out []Datum
	for i, d := range meta.CloudWatchMetrics {
		if d.Namespace == nil || strings.TrimSpace(*d.Namespace) == "" || strings.HasPrefix(*d.Namespace, "AWS/") {
			return nil, fmt.Errorf("directive %d: Namespace missing, empty or reserved (AWS/)", i)
		}
		if d.Dimensions == nil {
			return nil, fmt.Errorf("directive %d: Dimensions missing", i)
		}
		if len(d.Metrics) == 0 || len(d.Metrics) > 100 {
			return nil, fmt.Errorf("directive %d: %d metrics (1-100 allowed)", i, len(d.Metrics))
		}
		sets := d.Dimensions
		if len(sets) == 0 {
			sets = [][]string{{}}
		}
		for _, set := range sets {
			if len(set) > 30 {
				return nil, fmt.Errorf("directive %d: a dimension set of %d keys (30 allowed)", i, len(set))
			}
			dims := map[string]string{}
			for _, k := range set {
				v, err := str(k)
				if err != nil {
					return nil, fmt.Errorf("directive %d: %w", i, err)
				}
				dims[k] = v
			}
			for _, m := range d.Metrics {
				if m.Name == nil || *m.Name == "" {
					return nil, fmt.Errorf("directive %d: a metric without a Name", i)
				}
				unit := "None"
				if m.Unit != nil {
					unit = *m.Unit
				}
				if !Units[unit] {
					return nil, fmt.Errorf("metric %s: unit %q is not a CloudWatch unit", *m.Name, unit)
				}
				v, ok := doc[*m.Name]
				if !ok {
					return nil, fmt.Errorf("metric %s: no top-level value", *m.Name)
				}
				val, err := number(v)
				if err != nil {
					return nil, fmt.Errorf("metric %s: %w", *m.Name, err)
				}
				out = append(out, Datum{Namespace: *d.Namespace, Name: *m.Name, Unit: unit, Dimensions: dims, Value: val})
			}
		}
	}
	return out, nil
}

// number reads a JSON number, or the first of an array of numbers (EMF
// allows up to 100 values of one metric in a document).
func number(raw json.RawMessage) (float64, error) {
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f, nil
	}
	var fs []float64
	if err := json.Unmarshal(raw, &fs); err == nil && len(fs) > 0 && len(fs) <= 100 {
		return fs[0], nil
	}
	return 0, fmt.Errorf("value %s is not a number or an array of 1-100 numbers", raw)
}
