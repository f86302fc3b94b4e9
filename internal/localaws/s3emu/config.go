package s3emu

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Bucket configuration that gofakes3 does not keep. Each subresource stores
// the document the client PUT (validated first) and returns it on GET, as S3
// does; DELETE removes it. A bucket's configuration goes with the bucket.
var configErrors = map[string]struct{ code, msg string }{
	"encryption":        {"ServerSideEncryptionConfigurationNotFoundError", "The server side encryption configuration was not found"},
	"publicAccessBlock": {"NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found"},
	"policy":            {"NoSuchBucketPolicy", "The bucket policy does not exist"},
	"lifecycle":         {"NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist"},
	"tagging":           {"NoSuchTagSet", "The TagSet does not exist"},
}

// bucketOf returns the bucket of a path-style bucket-level request ("" for
// object requests and the service root).
func bucketOf(r *http.Request) string {
	p := strings.TrimPrefix(r.URL.Path, "/")
	p = strings.TrimSuffix(p, "/")
	if p == "" || strings.Contains(p, "/") {
		return ""
	}
	return p
}

func s3err(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	awsproto.WriteError(w, r, &awsproto.Error{Status: status, Code: code, Message: msg, Sender: true})
}

// serveConfig handles the bucket configuration subresources; it returns false
// for everything else, which gofakes3 serves.
func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) bool {
	bucket := bucketOf(r)
	if bucket == "" {
		return false
	}
	q := r.URL.Query()
	sub := ""
	for k := range configErrors {
		if q.Has(k) {
			sub = k
		}
	}
	if sub == "" {
		if r.Method == http.MethodDelete && len(q) == 0 {
			// DeleteBucket: let gofakes3 decide (BucketNotEmpty...), then
			// drop the configuration of a bucket that is gone.
			s.fake.ServeHTTP(w, r)
			if ok, _ := s.Backend.BucketExists(bucket); !ok {
				s.mu.Lock()
				delete(s.config, bucket)
				s.mu.Unlock()
			}
			return true
		}
		return false
	}
	if ok, _ := s.Backend.BucketExists(bucket); !ok {
		s3err(w, r, http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist")
		return true
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		doc, ok := s.config[bucket][sub]
		s.mu.Unlock()
		if !ok {
			e := configErrors[sub]
			s3err(w, r, http.StatusNotFound, e.code, e.msg)
			return true
		}
		if sub == "policy" {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "application/xml")
		}
		w.WriteHeader(http.StatusOK)
		w.Write(doc)
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		if err != nil {
			s3err(w, r, http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header")
			return true
		}
		if sub == "policy" && len(body) > 20<<10 {
			s3err(w, r, http.StatusBadRequest, "PolicyTooLarge", "Policy exceeds the maximum allowed document size.")
			return true
		}
		if e := validateConfig(bucket, sub, body); e != nil {
			s3err(w, r, http.StatusBadRequest, e.code, e.msg)
			return true
		}
		s.mu.Lock()
		if s.config[bucket] == nil {
			s.config[bucket] = map[string][]byte{}
		}
		s.config[bucket][sub] = body
		s.mu.Unlock()
		if sub == "policy" || sub == "tagging" {
			w.WriteHeader(http.StatusNoContent)
		} else {
			w.WriteHeader(http.StatusOK)
		}
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.config[bucket], sub)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		s3err(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
	}
	return true
}

type cfgErr struct{ code, msg string }

var malformedXML = &cfgErr{"MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema"}

type sseConfig struct {
	XMLName xml.Name `xml:"ServerSideEncryptionConfiguration"`
	Rules   []struct {
		Default *struct {
			SSEAlgorithm   string
			KMSMasterKeyID string
		} `xml:"ApplyServerSideEncryptionByDefault"`
		BucketKeyEnabled *bool
	} `xml:"Rule"`
}

type pabConfig struct {
	XMLName               xml.Name `xml:"PublicAccessBlockConfiguration"`
	BlockPublicAcls       *bool
	IgnorePublicAcls      *bool
	BlockPublicPolicy     *bool
	RestrictPublicBuckets *bool
}

type lifecycleConfig struct {
	XMLName xml.Name `xml:"LifecycleConfiguration"`
	Rules   []struct {
		ID         string
		Status     string
		Prefix     *string
		Filter     *struct{ Prefix *string }
		Expiration *struct {
			Days *int
			Date *string
		}
		NoncurrentVersionExpiration    *struct{ NoncurrentDays *int }
		AbortIncompleteMultipartUpload *struct{ DaysAfterInitiation *int }
	} `xml:"Rule"`
}

type taggingConfig struct {
	XMLName xml.Name `xml:"Tagging"`
	Tags    []struct {
		Key   string
		Value string
	} `xml:"TagSet>Tag"`
}

func validateConfig(bucket, sub string, body []byte) *cfgErr {
	dec := func(v any) bool { return xml.NewDecoder(bytes.NewReader(body)).Decode(v) == nil }
	switch sub {
	case "encryption":
		var c sseConfig
		if !dec(&c) || len(c.Rules) == 0 {
			return malformedXML
		}
		for _, r := range c.Rules {
			if r.Default == nil {
				return malformedXML
			}
			switch r.Default.SSEAlgorithm {
			case "AES256":
				if r.Default.KMSMasterKeyID != "" {
					return &cfgErr{"InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse"}
				}
			case "aws:kms", "aws:kms:dsse":
			default:
				return malformedXML
			}
		}
	case "publicAccessBlock":
		var c pabConfig
		if !dec(&c) {
			return malformedXML
		}
	case "lifecycle":
		var c lifecycleConfig
		if !dec(&c) || len(c.Rules) == 0 || len(c.Rules) > 1000 {
			return malformedXML
		}
		for _, r := range c.Rules {
			if r.Status != "Enabled" && r.Status != "Disabled" || len(r.ID) > 255 {
				return malformedXML
			}
			if r.Expiration != nil && r.Expiration.Days != nil && *r.Expiration.Days <= 0 {
				return &cfgErr{"InvalidArgument", "'Days' for Expiration action must be a positive integer"}
			}
			if r.Filter == nil && r.Prefix == nil {
				return malformedXML
			}
		}
	case "tagging":
		var c taggingConfig
		if !dec(&c) {
			return malformedXML
		}
		if len(c.Tags) > 50 {
			return &cfgErr{"InvalidTag", "Object tags cannot be greater than 50"}
		}
		seen := map[string]bool{}
		for _, t := range c.Tags {
			if t.Key == "" || len(t.Key) > 128 || len(t.Value) > 256 {
				return &cfgErr{"InvalidTag", fmt.Sprintf("The TagKey you have provided is invalid: %q", t.Key)}
			}
			if seen[t.Key] {
				return &cfgErr{"InvalidTag", "Cannot provide multiple Tags with the same key"}
			}
			seen[t.Key] = true
		}
	case "policy":
		return validatePolicy(bucket, body)
	}
	return nil
}

func validatePolicy(bucket string, body []byte) *cfgErr {
	var doc struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return &cfgErr{"MalformedPolicy", "This policy contains invalid Json"}
	}
	var stmts []map[string]any
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one map[string]any
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return &cfgErr{"MalformedPolicy", "Missing required field Statement"}
		}
		stmts = []map[string]any{one}
	}
	if len(stmts) == 0 {
		return &cfgErr{"MalformedPolicy", "Missing required field Statement"}
	}
	for _, st := range stmts {
		if e, _ := st["Effect"].(string); e != "Allow" && e != "Deny" {
			return &cfgErr{"MalformedPolicy", "Invalid effect: " + e}
		}
		if st["Principal"] == nil {
			return &cfgErr{"MalformedPolicy", "Missing required field Principal"}
		}
		var res []string
		switch v := st["Resource"].(type) {
		case string:
			res = []string{v}
		case []any:
			for _, x := range v {
				s, _ := x.(string)
				res = append(res, s)
			}
		default:
			return &cfgErr{"MalformedPolicy", "Missing required field Resource"}
		}
		for _, r := range res {
			if r != "arn:aws:s3:::"+bucket && !strings.HasPrefix(r, "arn:aws:s3:::"+bucket+"/") {
				return &cfgErr{"MalformedPolicy", "Policy has invalid resource"}
			}
		}
	}
	return nil
}

// BucketPolicy returns the bucket's policy document, if it has one (the
// endpoint's policy evaluator reads it).
func (s *Server) BucketPolicy(bucket string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc, ok := s.config[bucket]["policy"]
	return string(doc), ok
}
