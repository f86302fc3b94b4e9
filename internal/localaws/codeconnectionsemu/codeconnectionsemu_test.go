package codeconnectionsemu_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/codeconnectionsemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

func start(t *testing.T) (*codeconnections.Client, *localaws.Server) {
	srv := localawstest.Start(t, localaws.Options{})
	return codeconnections.NewFromConfig(localawstest.Config(srv, 1)), srv
}

func TestConnectionStaysPendingUntilTheHandshakeCompletes(t *testing.T) {
	ctx := context.Background()
	c, srv := start(t)
	out, err := c.CreateConnection(ctx, &codeconnections.CreateConnectionInput{ConnectionName: aws.String("shop-github"),
		ProviderType: types.ProviderTypeGithub, Tags: []types.Tag{{Key: aws.String("opsctl:managed"), Value: aws.String("true")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ConnectionArn)
	if !strings.HasPrefix(arn, "arn:aws:codeconnections:us-east-1:"+srv.Account+":connection/") {
		t.Fatalf("arn = %s", arn)
	}
	// botocore codeconnections Connection: created through the SDK, PENDING.
	got := emutest.Must(c.GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: &arn})).Connection
	if got.ConnectionStatus != types.ConnectionStatusPending || got.ProviderType != types.ProviderTypeGithub || aws.ToString(got.ConnectionName) != "shop-github" {
		t.Fatalf("connection = %+v", got)
	}
	// The console handshake, through the endpoint's control API.
	resp, err := http.Post(srv.URL+"/_localaws/codeconnections/handshake", "application/json", strings.NewReader(`{"connection":"shop-github"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("handshake control: %v %v", resp, err)
	}
	resp.Body.Close()
	got = emutest.Must(c.GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: &arn})).Connection
	if got.ConnectionStatus != types.ConnectionStatusAvailable {
		t.Fatalf("after handshake: %s", got.ConnectionStatus)
	}
	srv.Service("codeconnections").(*codeconnectionsemu.Server).FailHandshake(arn)
	got = emutest.Must(c.GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: &arn})).Connection
	if got.ConnectionStatus != types.ConnectionStatusError {
		t.Fatalf("after a refused handshake: %s", got.ConnectionStatus)
	}
	tags := emutest.Must(c.ListTagsForResource(ctx, &codeconnections.ListTagsForResourceInput{ResourceArn: &arn}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "opsctl:managed" {
		t.Fatalf("tags = %+v", tags.Tags)
	}
	if _, err := c.DeleteConnection(ctx, &codeconnections.DeleteConnectionInput{ConnectionArn: &arn}); err != nil {
		t.Fatal(err)
	}
	// botocore codeconnections GetConnection/DeleteConnection errors: ResourceNotFoundException.
	_, err = c.GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: &arn})
	emutest.WantCode(t, err, "ResourceNotFoundException", arn)
	_, err = c.DeleteConnection(ctx, &codeconnections.DeleteConnectionInput{ConnectionArn: &arn})
	emutest.WantCode(t, err, "ResourceNotFoundException", "")
}

func TestCreateConnectionValidation(t *testing.T) {
	ctx := context.Background()
	c, _ := start(t)
	cases := []struct {
		name string
		in   codeconnections.CreateConnectionInput
		code string
	}{
		// botocore codeconnections ConnectionName: min 1, max 32.
		{"name too long", codeconnections.CreateConnectionInput{ConnectionName: aws.String(strings.Repeat("c", 33)), ProviderType: types.ProviderTypeGithub}, "ValidationException"},
		{"empty name", codeconnections.CreateConnectionInput{ConnectionName: aws.String(""), ProviderType: types.ProviderTypeGithub}, "ValidationException"},
		// botocore codeconnections ProviderType enum.
		{"unknown provider", codeconnections.CreateConnectionInput{ConnectionName: aws.String("x"), ProviderType: "SourceForge"}, "ValidationException"},
		{"no provider and no host", codeconnections.CreateConnectionInput{ConnectionName: aws.String("x")}, "ValidationException"},
		{"self-managed without host", codeconnections.CreateConnectionInput{ConnectionName: aws.String("x"), ProviderType: types.ProviderTypeGitlabSelfManaged}, "ValidationException"},
		// botocore codeconnections HostArn pattern.
		{"bad host arn", codeconnections.CreateConnectionInput{ConnectionName: aws.String("x"), HostArn: aws.String("host/1")}, "ValidationException"},
		{"unknown host", codeconnections.CreateConnectionInput{ConnectionName: aws.String("x"), HostArn: aws.String("arn:aws:codeconnections:us-east-1:123456789012:host/gl-1")}, "ResourceNotFoundException"},
		// botocore codeconnections TagKey: min 1.
		{"empty tag key", codeconnections.CreateConnectionInput{ConnectionName: aws.String("x"), ProviderType: types.ProviderTypeGitlab, Tags: []types.Tag{{Key: aws.String(""), Value: aws.String("v")}}}, "ValidationException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateConnection(ctx, &tc.in)
			emutest.WantCode(t, err, tc.code, "")
		})
	}
	// botocore codeconnections ConnectionArn pattern.
	_, err := c.GetConnection(ctx, &codeconnections.GetConnectionInput{ConnectionArn: aws.String("shop")})
	emutest.WantCode(t, err, "ValidationException", "")
}

func TestListConnectionsFiltersAndPaginates(t *testing.T) {
	ctx := context.Background()
	c, _ := start(t)
	for i, p := range []types.ProviderType{types.ProviderTypeGithub, types.ProviderTypeBitbucket, types.ProviderTypeGithub, types.ProviderTypeGitlab,
		types.ProviderTypeGithub, types.ProviderTypeGithub, types.ProviderTypeGithub, types.ProviderTypeGithub} {
		emutest.Must(c.CreateConnection(ctx, &codeconnections.CreateConnectionInput{ConnectionName: aws.String(string(p) + strings.Repeat("x", i)), ProviderType: p}))
	}
	var all []types.Connection
	pages := 0
	for p := codeconnections.NewListConnectionsPaginator(c, &codeconnections.ListConnectionsInput{ProviderTypeFilter: types.ProviderTypeGithub}); p.HasMorePages(); pages++ {
		all = append(all, emutest.Must(p.NextPage(ctx)).Connections...)
	}
	if len(all) != 6 || pages < 2 {
		t.Fatalf("%d GitHub connections in %d pages", len(all), pages)
	}
	// botocore codeconnections MaxResults: 0-100.
	_, err := c.ListConnections(ctx, &codeconnections.ListConnectionsInput{MaxResults: 101})
	emutest.WantCode(t, err, "ValidationException", "")
	_, err = c.ListConnections(ctx, &codeconnections.ListConnectionsInput{NextToken: aws.String("bogus")})
	emutest.WantCode(t, err, "ValidationException", "")
}
