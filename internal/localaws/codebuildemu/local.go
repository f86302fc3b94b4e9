package codebuildemu

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
)

// Calls from one emulation to another of the endpoint's services, through
// that service's own API (the two share no state). They carry
// awsproto.InternalHeader semantics implicitly: they go straight to the
// handler, not through the endpoint, so they are neither recorded as the
// test's calls nor faulted.

// CallJSON calls an awsJson operation target.op on h and decodes the answer
// into out. A non-2xx answer is an error "code: message".
func CallJSON(h http.Handler, target, op string, in, out any) error {
	if h == nil {
		return fmt.Errorf("%s: the endpoint serves no such service", target)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target+"."+op)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(rec.Body.Bytes(), &e)
		return &CallError{Code: e.Type, Message: e.Message}
	}
	if out != nil {
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	return nil
}

// CallError is another service's error answer.
type CallError struct{ Code, Message string }

func (e *CallError) Error() string { return e.Code + ": " + e.Message }

// PutObject writes an object through the S3 handler h (path style).
func PutObject(h http.Handler, bucket, key string, body []byte) error {
	if h == nil {
		return fmt.Errorf("the endpoint serves no S3")
	}
	req := httptest.NewRequest(http.MethodPut, "/"+bucket+"/"+key, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/zip")
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Length", fmt.Sprint(len(body)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		return fmt.Errorf("put s3://%s/%s: %s", bucket, key, s3Code(rec.Body.Bytes(), rec.Code))
	}
	return nil
}

// GetObject reads an object through the S3 handler h.
func GetObject(h http.Handler, bucket, key string) ([]byte, error) {
	if h == nil {
		return nil, fmt.Errorf("the endpoint serves no S3")
	}
	req := httptest.NewRequest(http.MethodGet, "/"+bucket+"/"+key, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		return nil, fmt.Errorf("get s3://%s/%s: %s", bucket, key, s3Code(rec.Body.Bytes(), rec.Code))
	}
	return rec.Body.Bytes(), nil
}

func s3Code(body []byte, status int) string {
	if i := bytes.Index(body, []byte("<Code>")); i >= 0 {
		rest := body[i+6:]
		if j := bytes.Index(rest, []byte("</Code>")); j >= 0 {
			return string(rest[:j])
		}
	}
	return fmt.Sprintf("HTTP %d", status)
}

// Zip packs files (name → content) into a zip archive, names sorted.
func Zip(files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, _ := zw.Create(n)
		w.Write(files[n])
	}
	zw.Close()
	return buf.Bytes()
}

// Unzip reads a zip archive's files.
func Unzip(b []byte) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[f.Name] = data
	}
	return out, nil
}
