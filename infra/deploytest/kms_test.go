package deploytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/palisade-hq/palisade/internal/files"
)

// kmsStandIn answers KMS for every role's proxy (mocked AWS: KMS cannot run
// here). Keys Terraform made (secrets, queues, the shared storage key) are
// used by ARN and only recorded; the tenant keys the app creates at run time
// are kept here with their tags and aliases, so that each call is judged
// with the condition keys AWS would give it (aws:RequestTag/* on creation,
// aws:ResourceTag/* on a key's use).
type kmsStandIn struct {
	mu      sync.Mutex
	keys    map[string]*standInKey // by ARN
	aliases map[string]string      // alias name → key ARN
	n       int
}

type standInKey struct {
	arn   string
	tags  map[string]string
	state string
}

func newKMSStandIn() *kmsStandIn {
	return &kmsStandIn{keys: map[string]*standInKey{}, aliases: map[string]string{}}
}

func aliasARN(name string) string { return symbolic("kms", name) }

// resourceTags is the context of a call on key k.
func resourceTags(k *standInKey) map[string][]string {
	ctx := map[string][]string{}
	for t, v := range k.tags {
		ctx["aws:ResourceTag/"+t] = []string{v}
	}
	return ctx
}

// tenantKeyOf is the key behind alias/<bucket> (a tenant bucket's own
// key), nil when the bucket has none.
func (s *kmsStandIn) tenantKeyOf(bucket string) *standInKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[s.aliases["alias/"+bucket]]
}

func (s *kmsStandIn) serve(r *recorder, w http.ResponseWriter, op string, in map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	resolve := func(id string) *standInKey {
		if a, ok := s.aliases[id]; ok {
			id = a
		}
		return s.keys[id]
	}
	meta := func(k *standInKey) map[string]any {
		return map[string]any{"Arn": k.arn, "KeyId": k.arn[strings.LastIndex(k.arn, "/")+1:], "KeyState": k.state}
	}
	id, _ := in["KeyId"].(string)
	switch op {
	case "CreateKey":
		s.n++
		k := &standInKey{arn: symbolic("kms", fmt.Sprintf("key/tenant-%04d", s.n)), tags: map[string]string{}, state: "Enabled"}
		ctx := map[string][]string{}
		tags, _ := in["Tags"].([]any)
		for _, tg := range tags {
			m, _ := tg.(map[string]any)
			key, _ := m["TagKey"].(string)
			val, _ := m["TagValue"].(string)
			k.tags[key] = val
			ctx["aws:RequestTag/"+key] = []string{val}
		}
		r.add(call{Action: "kms:CreateKey", Resource: "*", Detail: "CreateKey", Context: ctx})
		if len(tags) > 0 {
			// Tags at creation need kms:TagResource as well.
			r.add(call{Action: "kms:TagResource", Resource: k.arn, Detail: "CreateKey with tags", Context: ctx})
		}
		s.keys[k.arn] = k
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": meta(k)})
	case "CreateAlias":
		name, _ := in["AliasName"].(string)
		k := resolve(fmt.Sprint(in["TargetKeyId"]))
		if k == nil {
			fail("NotFoundException", "no key")
			return
		}
		// Both the alias and the key are authorised.
		r.add(call{Action: "kms:CreateAlias", Resource: aliasARN(name), Detail: "CreateAlias " + name})
		r.add(call{Action: "kms:CreateAlias", Resource: k.arn, Detail: "CreateAlias " + name, Context: resourceTags(k)})
		if _, ok := s.aliases[name]; ok {
			fail("AlreadyExistsException", "alias exists")
			return
		}
		s.aliases[name] = k.arn
		_, _ = w.Write([]byte("{}"))
	case "DescribeKey", "EnableKeyRotation", "ScheduleKeyDeletion":
		k := resolve(id)
		if k == nil && strings.HasPrefix(id, "alias/") {
			// An alias nobody made: AWS answers NotFound whatever the
			// caller's policy, so there is no call to judge.
			fail("NotFoundException", "Alias "+aliasARN(id)+" is not found.")
			return
		}
		if k == nil {
			r.add(call{Action: "kms:" + op, Resource: id, Detail: op})
			_ = json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": map[string]any{"Arn": id, "KeyId": id, "KeyState": "Enabled"}})
			return
		}
		r.add(call{Action: "kms:" + op, Resource: k.arn, Detail: op + " " + id, Context: resourceTags(k)})
		switch op {
		case "DescribeKey", "EnableKeyRotation":
			_ = json.NewEncoder(w).Encode(map[string]any{"KeyMetadata": meta(k)})
		case "ScheduleKeyDeletion":
			days, _ := in["PendingWindowInDays"].(float64)
			if days < files.MinShredDays || days > files.MaxShredDays {
				fail("ValidationException", "PendingWindowInDays must be from 7 to 30")
				return
			}
			k.state = "PendingDeletion"
			at := time.Now().Add(time.Duration(days) * 24 * time.Hour)
			_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": k.arn, "KeyState": k.state, "DeletionDate": float64(at.Unix())})
		}
	default:
		// Terraform's keys (secrets, queues, the shared storage key).
		key := id
		if k := resolve(id); k != nil {
			r.add(call{Action: "kms:" + op, Resource: k.arn, Detail: op, Context: resourceTags(k)})
			key = k.arn
		} else {
			r.add(call{Action: "kms:" + op, Resource: key, Detail: op})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"KeyId": key})
	}
}
