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
