// Package s3emu serves S3 for the local endpoint: gofakes3 (in process, memory
// backend) for buckets and objects, multipart and conditional writes, plus the
// bucket configuration gofakes3 lacks (config.go): default encryption, Block
// Public Access, bucket policy, lifecycle and bucket tagging, stored per
// bucket and returned with S3's own error codes.
package s3emu

import (
	"bytes"
	"net/http"
	"strings"
	"sync"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is the S3 emulation.
type Server struct {
	Backend *s3mem.Backend
	fake    http.Handler

	mu     sync.Mutex
	config map[string]map[string][]byte // bucket → subresource → stored document
}

// New returns an empty S3.
func New() *Server {
	be := s3mem.New()
	return &Server{Backend: be, fake: gofakes3.New(be).Server(), config: map[string]map[string][]byte{}}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveConfig(w, r) {
		return
	}
	s.fake.ServeHTTP(w, r)
}

// PutObjectDirect stores an object without going through HTTP (the Firehose
// emulation delivers this way, so its writes are not recorded as the test's
// API calls). A missing bucket is gofakes3.ErrNoSuchBucket.
func (s *Server) PutObjectDirect(bucket, key string, body []byte) error {
	_, err := s.Backend.PutObject(bucket, key, map[string]string{"Content-Type": "application/octet-stream"}, bytes.NewReader(body), int64(len(body)), nil)
	return err
}

// OperationName names a REST request as the S3 API does (path-style only).
func (s *Server) OperationName(r *http.Request) string {
	q := r.URL.Query()
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucketOnly := !strings.Contains(path, "/") || strings.HasSuffix(path, "/") && strings.Count(path, "/") == 1
	sub := ""
	for _, k := range []string{"uploads", "uploadId", "policy", "encryption", "publicAccessBlock", "lifecycle", "versioning", "tagging", "delete", "location", "acl", "ownershipControls", "notification"} {
		if q.Has(k) {
			sub = k
			break
		}
	}
	title := func(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
	// The API names that do not follow Verb+Bucket+Subresource.
	switch {
	case sub == "publicAccessBlock" && bucketOnly:
		return map[string]string{http.MethodGet: "GetPublicAccessBlock", http.MethodPut: "PutPublicAccessBlock", http.MethodDelete: "DeletePublicAccessBlock"}[r.Method]
	case sub == "lifecycle" && bucketOnly && r.Method != http.MethodDelete:
		return map[string]string{http.MethodGet: "GetBucketLifecycleConfiguration", http.MethodPut: "PutBucketLifecycleConfiguration"}[r.Method]
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case path == "":
			return "ListBuckets"
		case bucketOnly && sub == "" && q.Get("list-type") == "2":
			return "ListObjectsV2"
		case bucketOnly && sub == "uploads":
			return "ListMultipartUploads"
		case bucketOnly && sub == "versioning":
			return "GetBucketVersioning"
		case bucketOnly && sub != "":
			return "GetBucket" + title(sub)
		case bucketOnly:
			return "ListObjects"
		case sub == "uploadId":
			return "ListParts"
		case sub == "tagging":
			return "GetObjectTagging"
		}
		return "GetObject"
	case http.MethodHead:
		if bucketOnly {
			return "HeadBucket"
		}
		return "HeadObject"
	case http.MethodPut:
		switch {
		case bucketOnly && sub == "":
			return "CreateBucket"
		case bucketOnly:
			return "PutBucket" + title(sub)
		case sub == "uploadId":
			return "UploadPart"
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return "CopyObject"
		case sub == "tagging":
			return "PutObjectTagging"
		}
		return "PutObject"
	case http.MethodPost:
		switch {
		case sub == "delete":
			return "DeleteObjects"
		case sub == "uploads":
			return "CreateMultipartUpload"
		case sub == "uploadId":
			return "CompleteMultipartUpload"
		}
		return "PostObject"
	case http.MethodDelete:
		switch {
		case bucketOnly && sub == "":
			return "DeleteBucket"
		case bucketOnly:
			return "DeleteBucket" + title(sub)
		case sub == "uploadId":
			return "AbortMultipartUpload"
		}
		return "DeleteObject"
	}
	return ""
}
