package archive

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
)

// statement is one IAM/S3 policy statement; fields marshal in this order.
type statement struct {
	Sid       string         `json:"Sid,omitempty"`
	Effect    string         `json:"Effect"`
	Principal any            `json:"Principal,omitempty"`
	Action    any            `json:"Action"`
	Resource  any            `json:"Resource,omitempty"`
	Condition map[string]any `json:"Condition,omitempty"`
}

type policyDoc struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

func render(p policyDoc) string {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		panic(err) // static shapes: cannot fail
	}
	return string(b)
}

// Policies are the documents an archive uses, as JSON.
type Policies struct {
	// FirehoseTrust lets only Firehose, for this one delivery stream of this
	// account, assume the role.
	FirehoseTrust string `json:"firehose_trust"`
	// FirehoseRole is the role's inline policy: read this Kinesis stream,
	// write this bucket prefix, use this KMS key (if any) for this prefix
	// through S3, write this log group.
	FirehoseRole string `json:"firehose_role"`
	// Bucket is the bucket policy of a bucket opsctl creates: TLS only.
	Bucket string `json:"bucket"`
}

// PoliciesFor renders the policy documents for an archive.
func PoliciesFor(o Options, n Names, partition, region, account string) Policies {
	trust := policyDoc{Version: "2012-10-17", Statement: []statement{{
		Effect:    "Allow",
		Principal: map[string]string{"Service": "firehose.amazonaws.com"},
		Action:    "sts:AssumeRole",
		// Only this delivery stream may use the role (the confused-deputy
		// guard of the IAM user guide, "The confused deputy problem":
		// aws:SourceArn and aws:SourceAccount; Firehose also passes the
		// account as sts:ExternalId).
		Condition: map[string]any{"StringEquals": map[string]string{
			"sts:ExternalId":    account,
			"aws:SourceAccount": account,
			"aws:SourceArn":     n.DeliveryStreamARN,
		}},
	}}}
	objects := fmt.Sprintf("%s/%s*", n.BucketARN, o.Prefix)
	role := policyDoc{Version: "2012-10-17", Statement: []statement{
		{
			Sid:      "ReadThisStream",
			Effect:   "Allow",
			Action:   []string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"},
			Resource: n.StreamARN,
		},
		{
			Sid:      "FindThisBucket",
			Effect:   "Allow",
			Action:   []string{"s3:GetBucketLocation", "s3:ListBucketMultipartUploads"},
			Resource: n.BucketARN,
		},
		{
			Sid:       "ListThisPrefix",
			Effect:    "Allow",
			Action:    "s3:ListBucket",
			Resource:  n.BucketARN,
			Condition: map[string]any{"StringLike": map[string]any{"s3:prefix": []string{o.Prefix + "*"}}},
		},
		{
			Sid:      "WriteThisPrefix",
			Effect:   "Allow",
			Action:   []string{"s3:AbortMultipartUpload", "s3:PutObject"},
			Resource: objects,
		},
		{
			Sid:      "LogDeliveryErrors",
			Effect:   "Allow",
			Action:   "logs:PutLogEvents",
			Resource: fmt.Sprintf("arn:%s:logs:%s:%s:log-group:%s:log-stream:%s", partition, region, account, n.LogGroup, n.LogStream),
		},
	}}
	if o.KMSKey != "" {
		role.Statement = append(role.Statement, statement{
			Sid:      "EncryptThisPrefixWithThisKey",
			Effect:   "Allow",
			Action:   []string{"kms:Decrypt", "kms:GenerateDataKey"},
			Resource: o.KMSKey,
			Condition: map[string]any{
				"StringEquals": map[string]string{"kms:ViaService": fmt.Sprintf("s3.%s.amazonaws.com", region)},
				"StringLike":   map[string]string{"kms:EncryptionContext:aws:s3:arn": objects},
			},
		})
	}
	bucket := policyDoc{Version: "2012-10-17", Statement: []statement{{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: "*",
		Action:    "s3:*",
		Resource:  []string{n.BucketARN, n.BucketARN + "/*"},
		Condition: map[string]any{"Bool": map[string]string{"aws:SecureTransport": "false"}},
	}}}
	return Policies{FirehoseTrust: render(trust), FirehoseRole: render(role), Bucket: render(bucket)}
}

// samePolicy compares two policy documents by meaning (IAM returns them
// URL-encoded and reformatted). A single string and a one-element list are
// the same.
func samePolicy(live, want string) bool {
	if u, err := url.QueryUnescape(live); err == nil {
		live = u
	}
	var a, b any
	if json.Unmarshal([]byte(live), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return reflect.DeepEqual(normalize(a), normalize(b))
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		if len(x) == 1 {
			return normalize(x[0])
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// mergeBucketPolicy sets opsctl's statements (want's, matched by Sid) in the
// live bucket policy and keeps every other statement exactly as it is: a
// statement the user added is never replaced or dropped. changed is false
// when each of opsctl's statements is already there with the same meaning.
// An unparsable live policy is an error (nothing is overwritten).
func mergeBucketPolicy(live, want string) (merged string, changed bool, err error) {
	var w policyDoc
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return "", false, err
	}
	if live == "" {
		return want, true, nil
	}
	var doc struct {
		Version   string          `json:"Version,omitempty"`
		ID        string          `json:"Id,omitempty"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(live), &doc); err != nil {
		return "", false, fmt.Errorf("the bucket's policy is not JSON: %w", err)
	}
	var stmts []json.RawMessage
	if len(doc.Statement) > 0 && doc.Statement[0] == '{' {
		stmts = []json.RawMessage{doc.Statement}
	} else if len(doc.Statement) > 0 {
		if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
			return "", false, fmt.Errorf("the bucket's policy statements: %w", err)
		}
	}
	ours := map[string]string{}
	for _, s := range w.Statement {
		b, _ := json.Marshal(s)
		ours[s.Sid] = string(b)
	}
	same := 0
	var kept []json.RawMessage
	for _, raw := range stmts {
		var id struct{ Sid string }
		_ = json.Unmarshal(raw, &id)
		if mine, ok := ours[id.Sid]; ok && id.Sid != "" {
			if samePolicy(string(raw), mine) {
				same++
			}
			continue
		}
		kept = append(kept, raw)
	}
	if same == len(w.Statement) {
		return live, false, nil
	}
	for _, s := range w.Statement {
		b, _ := json.Marshal(s)
		kept = append(kept, b)
	}
	if doc.Version == "" {
		doc.Version = "2012-10-17"
	}
	out := struct {
		Version   string            `json:"Version"`
		ID        string            `json:"Id,omitempty"`
		Statement []json.RawMessage `json:"Statement"`
	}{doc.Version, doc.ID, kept}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// tlsOnly reports whether a bucket policy denies every request without TLS:
// a Deny of s3:* (or *) for every principal on the bucket and its objects
// with Bool aws:SecureTransport false (S3 user guide, "Enforce encryption
// in transit": the policy opsctl writes on its own buckets).
func tlsOnly(policy, bucketARN string) bool {
	var doc struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(policy), &doc) != nil {
		return false
	}
	var stmts []map[string]any
	if len(doc.Statement) > 0 && doc.Statement[0] == '{' {
		var one map[string]any
		if json.Unmarshal(doc.Statement, &one) != nil {
			return false
		}
		stmts = []map[string]any{one}
	} else if json.Unmarshal(doc.Statement, &stmts) != nil {
		return false
	}
	list := func(v any) []string {
		switch x := v.(type) {
		case string:
			return []string{x}
		case []any:
			var out []string
			for _, e := range x {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
		return nil
	}
	has := func(l []string, vals ...string) bool {
		for _, v := range l {
			for _, want := range vals {
				if v == want {
					return true
				}
			}
		}
		return false
	}
	for _, s := range stmts {
		if s["Effect"] != "Deny" {
			continue
		}
		p := s["Principal"]
		if m, ok := p.(map[string]any); ok {
			p = m["AWS"]
		}
		if !has(list(p), "*") || !has(list(s["Action"]), "s3:*", "*") {
			continue
		}
		res := list(s["Resource"])
		if !has(res, bucketARN, bucketARN+"*", "*") || !has(res, bucketARN+"/*", bucketARN+"*", "*") {
			continue
		}
		cond, _ := s["Condition"].(map[string]any)
		b, _ := cond["Bool"].(map[string]any)
		if has(list(b["aws:SecureTransport"]), "false") {
			return true
		}
	}
	return false
}
