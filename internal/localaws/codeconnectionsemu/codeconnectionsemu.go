// Package codeconnectionsemu is the local endpoint's AWS CodeConnections
// emulation (awsJson1.0, X-Amz-Target
// com.amazonaws.codeconnections.CodeConnections_20231201.*, SigV4 name
// "codeconnections"): CreateConnection, GetConnection, ListConnections,
// DeleteConnection, TagResource, UntagResource and ListTagsForResource, with
// the constraints and error codes of botocore's codeconnections
// service-2.json.
//
// As in AWS, a connection created through the API is PENDING: "A connection
// created through CloudFormation, the CLI, or the SDK is in PENDING status by
// default. You can make its status AVAILABLE by updating the connection in
// the console" (botocore Connection documentation). The console handshake is
// the test control CompleteHandshake (POST /_localaws/codeconnections/handshake
// {"connection":"NAME or ARN"}), after which the connection is AVAILABLE;
// FailHandshake puts it in ERROR.
package codeconnectionsemu

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Connection states (botocore codeconnections ConnectionStatus).
const (
	StatusPending   = "PENDING"
	StatusAvailable = "AVAILABLE"
	StatusError     = "ERROR"
)

// MaxConnections is the per-account, per-Region quota on connections
// (CodeConnections user guide, "Quotas for connections": 250).
const MaxConnections = 250

const pageSize = 5

// Server is the CodeConnections emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	mu    sync.Mutex
	conns map[string]*connection // by ARN
	order []string               // ARNs in creation order
}

type connection struct {
	name, arn, provider, host, status string
	tags                              map[string]string
}

// New returns an empty emulation.
func New(region, account string) *Server {
	s := &Server{Region: region, Account: account, conns: map[string]*connection{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateConnection":    s.createConnection,
		"GetConnection":       s.getConnection,
		"ListConnections":     s.listConnections,
		"DeleteConnection":    s.deleteConnection,
		"TagResource":         s.tagResource,
		"UntagResource":       s.untagResource,
		"ListTagsForResource": s.listTagsForResource,
	}
	return s
}

// model words violations of the model's constraints: CodeConnections is a
// Smithy service answering ValidationException.
var model = awsproto.ValidationException

// botocore codeconnections ProviderType.enum.
var providerTypes = []string{"Bitbucket", "GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged", "AzureDevOps"}

var (
	// botocore codeconnections ConnectionArn / HostArn patterns.
	connectionArnRe = regexp.MustCompile(`^arn:aws(-[\w]+)*:.+:.+:[0-9]{12}:.+$`)
	hostArnRe       = regexp.MustCompile(`^arn:aws(-[\w]+)*:(codestar-connections|codeconnections):.+:[0-9]{12}:host\/.+$`)
)

var tagRules = awsproto.TagRules{Validator: model, Member: "tags", MaxTags: 200,
	TooMany: func(max int) error {
		return awsproto.Errf("LimitExceededException", "A resource can have no more than %d tags.", max)
	}}

type wireTag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

func tagMap(member string, list []wireTag) (map[string]string, error) {
	m := map[string]string{}
	for i, t := range list {
		// botocore codeconnections Tag: Key and Value are required.
		if t.Key == nil {
			return nil, model.Required(fmt.Sprintf("%s.%d.member.key", member, i+1), false)
		}
		if t.Value == nil {
			return nil, model.Required(fmt.Sprintf("%s.%d.member.value", member, i+1), false)
		}
		m[*t.Key] = *t.Value
	}
	return m, nil
}

func tagList(m map[string]string) []wireTag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]wireTag, 0, len(keys))
	for _, k := range keys {
		k, v := k, m[k]
		out = append(out, wireTag{Key: &k, Value: &v})
	}
	return out
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (s *Server) partition() string {
	switch {
	case strings.HasPrefix(s.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(s.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func (s *Server) createConnection(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ProviderType   *string   `json:"ProviderType"`
		ConnectionName *string   `json:"ConnectionName"`
		HostArn        *string   `json:"HostArn"`
		Tags           []wireTag `json:"Tags"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ConnectionName == nil {
		return nil, model.Required("connectionName", false)
	}
	// botocore codeconnections ConnectionName: 1-32.
	if err := model.Length("connectionName", *in.ConnectionName, 1, 32); err != nil {
		return nil, err
	}
	if in.ProviderType != nil {
		if err := model.Enum("providerType", *in.ProviderType, providerTypes...); err != nil {
			return nil, err
		}
	}
	// botocore codeconnections TagList: 0-200.
	if err := model.Size("tags", len(in.Tags), len(in.Tags), 0, 200); err != nil {
		return nil, err
	}
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	if err := tagRules.Check(tags); err != nil {
		return nil, err
	}
	provider := ""
	switch {
	case in.HostArn != nil:
		if err := model.Pattern("hostArn", *in.HostArn, hostArnRe); err != nil {
			return nil, err
		}
		// Hosts (self-managed GitHub Enterprise Server or GitLab) are not
		// emulated: every host ARN names a host that does not exist.
		return nil, awsproto.Errf("ResourceNotFoundException", "Host %s does not exist", *in.HostArn)
	case in.ProviderType == nil:
		return nil, model.Invalid("ProviderType must be provided when HostArn is not")
	case *in.ProviderType == "GitHubEnterpriseServer" || *in.ProviderType == "GitLabSelfManaged":
		return nil, model.Invalid("A HostArn is required for provider type %s", *in.ProviderType)
	default:
		provider = *in.ProviderType
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= MaxConnections {
		return nil, awsproto.Errf("LimitExceededException", "Maximum number of connections reached for this account.")
	}
	c := &connection{
		name: *in.ConnectionName, provider: provider, status: StatusPending, tags: tags,
		arn: fmt.Sprintf("arn:%s:codeconnections:%s:%s:connection/%s", s.partition(), s.Region, s.Account, newUUID()),
	}
	s.conns[c.arn] = c
	s.order = append(s.order, c.arn)
	return map[string]any{"ConnectionArn": c.arn, "Tags": tagList(c.tags)}, nil
}

type connectionOut struct {
	ConnectionName   string `json:"ConnectionName"`
	ConnectionArn    string `json:"ConnectionArn"`
	ProviderType     string `json:"ProviderType"`
	OwnerAccountId   string `json:"OwnerAccountId"`
	ConnectionStatus string `json:"ConnectionStatus"`
}

func (s *Server) out(c *connection) connectionOut {
	return connectionOut{ConnectionName: c.name, ConnectionArn: c.arn, ProviderType: c.provider, OwnerAccountId: s.Account, ConnectionStatus: c.status}
}

// resolve checks an ARN member and finds its connection; the caller holds mu.
func (s *Server) resolve(member string, arn *string) (*connection, error) {
	if arn == nil {
		return nil, model.Required(member, false)
	}
	if err := model.Length(member, *arn, 0, 256); err != nil {
		return nil, err
	}
	if err := model.Pattern(member, *arn, connectionArnRe); err != nil {
		return nil, err
	}
	c := s.conns[*arn]
	if c == nil {
		return nil, awsproto.Errf("ResourceNotFoundException", "Connection %s does not exist", *arn)
	}
	return c, nil
}

func (s *Server) getConnection(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ConnectionArn *string `json:"ConnectionArn"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve("connectionArn", in.ConnectionArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Connection": s.out(c)}, nil
}

func (s *Server) listConnections(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ProviderTypeFilter *string `json:"ProviderTypeFilter"`
		HostArnFilter      *string `json:"HostArnFilter"`
		MaxResults         *int64  `json:"MaxResults"`
		NextToken          *string `json:"NextToken"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.ProviderTypeFilter != nil {
		if err := model.Enum("providerTypeFilter", *in.ProviderTypeFilter, providerTypes...); err != nil {
			return nil, err
		}
	}
	if in.HostArnFilter != nil {
		if err := model.Pattern("hostArnFilter", *in.HostArnFilter, hostArnRe); err != nil {
			return nil, err
		}
	}
	limit := 0
	if in.MaxResults != nil {
		// botocore codeconnections MaxResults: 0-100.
		if err := model.Range("maxResults", *in.MaxResults, 0, 100); err != nil {
			return nil, err
		}
		limit = int(*in.MaxResults)
	}
	token := ""
	if in.NextToken != nil {
		if err := model.Length("nextToken", *in.NextToken, 1, 1024); err != nil {
			return nil, err
		}
		token = *in.NextToken
	}
	s.mu.Lock()
	var all []connectionOut
	for _, arn := range s.order {
		c := s.conns[arn]
		if c == nil || (in.ProviderTypeFilter != nil && c.provider != *in.ProviderTypeFilter) ||
			(in.HostArnFilter != nil && c.host != *in.HostArnFilter) {
			continue
		}
		all = append(all, s.out(c))
	}
	s.mu.Unlock()
	page, next, err := awsproto.Paginate(all, token, limit, pageSize, "ValidationException")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Connections": append([]connectionOut{}, page...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Server) deleteConnection(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ConnectionArn *string `json:"ConnectionArn"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve("connectionArn", in.ConnectionArn)
	if err != nil {
		return nil, err
	}
	delete(s.conns, c.arn) // the ARN is never reused (botocore DeleteConnectionInput)
	return map[string]any{}, nil
}

func (s *Server) tagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArn *string   `json:"ResourceArn"`
		Tags        []wireTag `json:"Tags"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, model.Required("tags", false)
	}
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve("resourceArn", in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if err := tagRules.Check(tags); err != nil {
		return nil, err
	}
	return map[string]any{}, tagRules.Apply(c.tags, tags)
}

func (s *Server) untagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArn *string  `json:"ResourceArn"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, model.Required("tagKeys", false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve("resourceArn", in.ResourceArn)
	if err != nil {
		return nil, err
	}
	awsproto.Untag(c.tags, in.TagKeys)
	return map[string]any{}, nil
}

func (s *Server) listTagsForResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceArn *string `json:"ResourceArn"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.resolve("resourceArn", in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": tagList(c.tags)}, nil
}

// CompleteHandshake is the test control for "a person completed the
// connection's handshake in the console": the connection named (by name or
// ARN) becomes AVAILABLE. It returns how many connections it changed.
func (s *Server) CompleteHandshake(nameOrARN string) int {
	return s.setStatus(nameOrARN, StatusAvailable)
}

// FailHandshake puts the connection in ERROR (the provider refused it).
func (s *Server) FailHandshake(nameOrARN string) int { return s.setStatus(nameOrARN, StatusError) }

func (s *Server) setStatus(nameOrARN, status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		if c.arn == nameOrARN || c.name == nameOrARN {
			c.status = status
			n++
		}
	}
	return n
}
