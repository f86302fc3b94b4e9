// Package acmemu is the local endpoint's AWS Certificate Manager emulation
// (awsJson1.1, X-Amz-Target CertificateManager.*, SigV4 name "acm"):
// RequestCertificate, DescribeCertificate, ListCertificates and
// DeleteCertificate, enough for an HTTPS listener's certificate.
//
// Validation and errors follow botocore acm service-2.json:
// ValidationException for the model's constraints, ResourceNotFoundException
// for an unknown certificate, ResourceInUseException when a load balancer
// listener uses it, InvalidArnException for an ARN of another service.
//
// # Time and test control
//
// Computed from the endpoint's clock when read: a requested certificate is
// PENDING_VALIDATION, with a DNS validation record, and becomes ISSUED
// IssueAfter later (as if its CNAME record were in place). By convention a
// certificate whose domain name ends in ".invalid" (a name reserved by RFC
// 2606) never validates: it stays PENDING_VALIDATION and is
// VALIDATION_TIMED_OUT 72 hours after the request, as ACM does.
//
// In process, AddCertificate creates a certificate with a given status at
// once.
package acmemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// IssueAfter is how long a requested certificate waits for validation.
const IssueAfter = 5 * time.Minute

// validationTimeout: "If ACM is not able to validate the certificate within
// 72 hours, the request times out" (ACM user guide, DNS validation).
const validationTimeout = 72 * time.Hour

// pageSize is the ListCertificates page (a small page makes callers follow
// NextToken).
const pageSize = 5

// Server is the ACM emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	region, account string
	clock           clock.Clock

	// InUseBy, when set, returns the ARNs of the resources (load balancers)
	// that use a certificate. It is called without the emulation's lock.
	InUseBy func(certArn string) []string

	mu    sync.Mutex
	seq   int
	certs map[string]*cert // by ARN
}

type cert struct {
	arn, domain, method, keyAlg string
	sans                        []string
	created                     time.Time
	fixed                       string // a status set by AddCertificate
	tags                        map[string]string
}

// New returns an empty emulation on clk (nil: real time).
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{region: region, account: account, clock: clock.Or(clk), certs: map[string]*cert{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"RequestCertificate":  s.requestCertificate,
		"DescribeCertificate": s.describeCertificate,
		"ListCertificates":    s.listCertificates,
		"DeleteCertificate":   s.deleteCertificate,
	}
	return s
}

// model: ACM answers the model's constraint violations with
// ValidationException.
var model = awsproto.ValidationException

// domainRe is botocore acm DomainNameString's pattern without its look-aheads
// (labels may not start with "-", checked separately).
var domainRe = regexp.MustCompile(`^(\*\.)?(([A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+([A-Za-z0-9-]{1,62}[A-Za-z0-9])$`)

// arnRe is botocore acm Arn's pattern.
var arnRe = regexp.MustCompile(`^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(/[\w+=,.@-]+)*$`)

func checkDomain(member, d string) error {
	if err := model.Length(member, d, 1, 253); err != nil {
		return err
	}
	ok := domainRe.MatchString(d)
	for _, label := range strings.Split(strings.TrimPrefix(d, "*."), ".") {
		if strings.HasPrefix(label, "-") {
			ok = false
		}
	}
	if !ok {
		return model.Violation(d, member, `Member must satisfy regular expression pattern: (\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])`)
	}
	return nil
}

func (s *Server) newArn() string {
	s.seq++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/acm/%d", s.account, s.region, s.seq)))
	x := hex.EncodeToString(h[:])
	return fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%s-%s-4%s-8%s-%s", s.region, s.account, x[:8], x[8:12], x[13:16], x[17:20], x[20:32])
}

// status is the certificate's status at now (package doc).
func (c *cert) status(now time.Time) string {
	switch {
	case c.fixed != "":
		return c.fixed
	case strings.HasSuffix(c.domain, ".invalid"):
		if now.Sub(c.created) >= validationTimeout {
			return "VALIDATION_TIMED_OUT"
		}
		return "PENDING_VALIDATION"
	case now.Sub(c.created) >= IssueAfter:
		return "ISSUED"
	}
	return "PENDING_VALIDATION"
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value,omitempty"`
}

func (s *Server) requestCertificate(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		DomainName              *string
		ValidationMethod        string
		SubjectAlternativeNames []string
		IdempotencyToken        *string
		KeyAlgorithm            string
		Tags                    []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.DomainName == nil {
		return nil, model.Required("domainName", false)
	}
	errs := []error{checkDomain("domainName", *in.DomainName)}
	if in.ValidationMethod != "" {
		errs = append(errs, model.Enum("validationMethod", in.ValidationMethod, "EMAIL", "DNS", "HTTP"))
	}
	if in.SubjectAlternativeNames != nil {
		// botocore acm DomainList: 1-100.
		errs = append(errs, model.Size("subjectAlternativeNames", in.SubjectAlternativeNames, len(in.SubjectAlternativeNames), 1, 100))
		for i, n := range in.SubjectAlternativeNames {
			errs = append(errs, checkDomain(fmt.Sprintf("subjectAlternativeNames.%d.member", i+1), n))
		}
	}
	if in.KeyAlgorithm != "" {
		errs = append(errs, model.Enum("keyAlgorithm", in.KeyAlgorithm, "RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"))
	}
	if in.Tags != nil {
		// botocore acm TagList: 1-50.
		errs = append(errs, model.Size("tags", in.Tags, len(in.Tags), 1, 50))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	method := in.ValidationMethod
	if method == "" {
		method = "EMAIL" // RequestCertificate ValidationMethod: EMAIL unless DNS is asked for
	}
	keyAlg := in.KeyAlgorithm
	if keyAlg == "" {
		keyAlg = "RSA_2048"
	}
	sans := []string{*in.DomainName}
	for _, n := range in.SubjectAlternativeNames {
		if n != *in.DomainName {
			sans = append(sans, n)
		}
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &cert{arn: s.newArn(), domain: *in.DomainName, method: method, keyAlg: keyAlg, sans: sans, created: s.clock.Now(), tags: tags}
	s.certs[c.arn] = c
	return map[string]string{"CertificateArn": c.arn}, nil
}

// AddCertificate creates an Amazon-issued certificate for domain with a
// fixed status (ISSUED, PENDING_VALIDATION, EXPIRED ...) and returns its ARN:
// a test control, in process.
func (s *Server) AddCertificate(domain, status string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &cert{arn: s.newArn(), domain: domain, method: "DNS", keyAlg: "RSA_2048", sans: []string{domain}, created: s.clock.Now(),
		fixed: status, tags: map[string]string{}}
	s.certs[c.arn] = c
	return c.arn
}

// CertificateStatus returns a certificate's status now (for the ELBv2
// emulation's HTTPS listeners).
func (s *Server) CertificateStatus(arn string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.certs[arn]
	if c == nil {
		return "", false
	}
	return c.status(s.clock.Now()), true
}

// lookup resolves a CertificateArn member.
func (s *Server) lookup(arn *string) (*cert, error) {
	if arn == nil {
		return nil, model.Required("certificateArn", false)
	}
	if err := model.Length("certificateArn", *arn, 20, 2048); err != nil {
		return nil, err
	}
	if !arnRe.MatchString(*arn) {
		if strings.HasPrefix(*arn, "arn:") {
			return nil, awsproto.Errf("InvalidArnException", "String '%s' is not a valid ARN.", *arn)
		}
		return nil, model.Pattern("certificateArn", *arn, regexp.MustCompile(`^`+strings.TrimSuffix(strings.TrimPrefix(arnRe.String(), "^"), "$")+`$`))
	}
	c := s.certs[*arn]
	if c == nil {
		return nil, awsproto.Errf("ResourceNotFoundException", "Could not find certificate %s.", *arn)
	}
	return c, nil
}

type resourceRecord struct {
	Name  string `json:"Name"`
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

type domainValidation struct {
	DomainName       string          `json:"DomainName"`
	ValidationDomain string          `json:"ValidationDomain"`
	ValidationStatus string          `json:"ValidationStatus"`
	ValidationMethod string          `json:"ValidationMethod"`
	ResourceRecord   *resourceRecord `json:"ResourceRecord,omitempty"`
}

type certDetail struct {
	CertificateArn          string              `json:"CertificateArn"`
	DomainName              string              `json:"DomainName"`
	SubjectAlternativeNames []string            `json:"SubjectAlternativeNames"`
	DomainValidationOptions []domainValidation  `json:"DomainValidationOptions"`
	Subject                 string              `json:"Subject,omitempty"`
	Issuer                  string              `json:"Issuer,omitempty"`
	CreatedAt               awsproto.EpochTime  `json:"CreatedAt"`
	IssuedAt                *awsproto.EpochTime `json:"IssuedAt,omitempty"`
	NotBefore               *awsproto.EpochTime `json:"NotBefore,omitempty"`
	NotAfter                *awsproto.EpochTime `json:"NotAfter,omitempty"`
	Status                  string              `json:"Status"`
	KeyAlgorithm            string              `json:"KeyAlgorithm"`
	InUseBy                 []string            `json:"InUseBy"`
	Type                    string              `json:"Type"`
	RenewalEligibility      string              `json:"RenewalEligibility"`
	Options                 map[string]string   `json:"Options"`
	FailureReason           string              `json:"FailureReason,omitempty"`
}

func ptrTime(t time.Time) *awsproto.EpochTime { e := awsproto.EpochTime(t); return &e }

func (s *Server) detail(c *cert, now time.Time, inUse []string) certDetail {
	st := c.status(now)
	d := certDetail{CertificateArn: c.arn, DomainName: c.domain, SubjectAlternativeNames: c.sans, CreatedAt: awsproto.EpochTime(c.created),
		Status: st, KeyAlgorithm: c.keyAlg, InUseBy: inUse, Type: "AMAZON_ISSUED", RenewalEligibility: "INELIGIBLE",
		Options: map[string]string{"CertificateTransparencyLoggingPreference": "ENABLED"}}
	if d.InUseBy == nil {
		d.InUseBy = []string{}
	}
	vstatus := "PENDING_VALIDATION"
	switch st {
	case "ISSUED", "EXPIRED":
		vstatus = "SUCCESS"
		issued := c.created.Add(IssueAfter)
		if c.fixed != "" {
			issued = c.created
		}
		d.IssuedAt, d.NotBefore, d.NotAfter = ptrTime(issued), ptrTime(issued), ptrTime(issued.Add(395*24*time.Hour))
		d.Subject, d.Issuer = "CN="+c.domain, "Amazon"
		if len(inUse) > 0 {
			d.RenewalEligibility = "ELIGIBLE"
		}
	case "VALIDATION_TIMED_OUT", "FAILED":
		vstatus = "FAILED"
	}
	for _, n := range c.sans {
		dv := domainValidation{DomainName: n, ValidationDomain: n, ValidationStatus: vstatus, ValidationMethod: c.method}
		if c.method == "DNS" {
			h := sha256.Sum256([]byte(c.arn + n))
			x := hex.EncodeToString(h[:])
			base := strings.TrimPrefix(n, "*.")
			dv.ResourceRecord = &resourceRecord{Name: "_" + x[:32] + "." + base + ".", Type: "CNAME", Value: "_" + x[32:] + ".acm-validations.aws."}
		}
		d.DomainValidationOptions = append(d.DomainValidationOptions, dv)
	}
	return d
}

func (s *Server) inUse(arn string) []string {
	if s.InUseBy == nil || arn == "" {
		return nil
	}
	return s.InUseBy(arn)
}

// resolve decodes a request naming a CertificateArn, asks who uses the
// certificate, then locks the emulation and finds it. On success the caller
// holds the lock and must unlock it.
func (s *Server) resolve(dec awsproto.Decoder) (*cert, []string, error) {
	var in struct{ CertificateArn *string }
	if err := dec(&in); err != nil {
		return nil, nil, err
	}
	var users []string
	if in.CertificateArn != nil {
		users = s.inUse(*in.CertificateArn)
	}
	s.mu.Lock()
	c, err := s.lookup(in.CertificateArn)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return c, users, nil
}

func (s *Server) describeCertificate(r *http.Request, dec awsproto.Decoder) (any, error) {
	c, users, err := s.resolve(dec)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return map[string]any{"Certificate": s.detail(c, s.clock.Now(), users)}, nil
}

type summary struct {
	CertificateArn                  string             `json:"CertificateArn"`
	DomainName                      string             `json:"DomainName"`
	SubjectAlternativeNameSummaries []string           `json:"SubjectAlternativeNameSummaries"`
	Status                          string             `json:"Status"`
	Type                            string             `json:"Type"`
	KeyAlgorithm                    string             `json:"KeyAlgorithm"`
	InUse                           bool               `json:"InUse"`
	CreatedAt                       awsproto.EpochTime `json:"CreatedAt"`
}

var statuses = []string{"PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"}

func (s *Server) listCertificates(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		CertificateStatuses []string
		NextToken           *string
		MaxItems            *int
		SortBy              string
		SortOrder           string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	var errs []error
	for i, st := range in.CertificateStatuses {
		errs = append(errs, model.Enum(fmt.Sprintf("certificateStatuses.%d.member", i+1), st, statuses...))
	}
	if in.MaxItems != nil {
		// botocore acm MaxItems: 1-1000.
		errs = append(errs, model.Range("maxItems", int64(*in.MaxItems), 1, 1000))
	}
	if in.SortBy != "" {
		errs = append(errs, model.Enum("sortBy", in.SortBy, "CREATED_AT"))
	}
	if in.SortOrder != "" {
		errs = append(errs, model.Enum("sortOrder", in.SortOrder, "ASCENDING", "DESCENDING"))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	arns := func() []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []string
		for a := range s.certs {
			out = append(out, a)
		}
		return out
	}()
	used := map[string]bool{}
	for _, a := range arns {
		used[a] = len(s.inUse(a)) > 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	// Without CertificateStatuses every status is listed.
	var list []*cert
	for _, c := range s.certs {
		if len(in.CertificateStatuses) > 0 && !contains(in.CertificateStatuses, c.status(now)) {
			continue
		}
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].created.Equal(list[j].created) {
			if in.SortOrder == "DESCENDING" {
				return list[i].created.After(list[j].created)
			}
			return list[i].created.Before(list[j].created)
		}
		return list[i].arn < list[j].arn
	})
	limit := 0
	if in.MaxItems != nil {
		limit = *in.MaxItems
	}
	token := ""
	if in.NextToken != nil {
		token = *in.NextToken
	}
	page, next, err := awsproto.Paginate(list, token, limit, pageSize, "InvalidArgsException")
	if err != nil {
		return nil, err
	}
	out := struct {
		CertificateSummaryList []summary `json:"CertificateSummaryList"`
		NextToken              string    `json:"NextToken,omitempty"`
	}{CertificateSummaryList: []summary{}, NextToken: next}
	for _, c := range page {
		out.CertificateSummaryList = append(out.CertificateSummaryList, summary{CertificateArn: c.arn, DomainName: c.domain,
			SubjectAlternativeNameSummaries: c.sans, Status: c.status(now), Type: "AMAZON_ISSUED", KeyAlgorithm: c.keyAlg,
			InUse: used[c.arn], CreatedAt: awsproto.EpochTime(c.created)})
	}
	return out, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Server) deleteCertificate(r *http.Request, dec awsproto.Decoder) (any, error) {
	c, users, err := s.resolve(dec)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	// botocore acm DeleteCertificate errors: ResourceInUseException; "You
	// cannot delete an ACM certificate that is being used by another AWS
	// service."
	if len(users) > 0 {
		return nil, awsproto.Errf("ResourceInUseException", "Certificate %s in use.", c.arn)
	}
	delete(s.certs, c.arn)
	return nil, nil
}
