package iamemu_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Instance profile operations and their errors (botocore iam
// service-2.json: CreateInstanceProfile EntityAlreadyExistsException,
// AddRoleToInstanceProfile LimitExceededException / NoSuchEntityException,
// DeleteInstanceProfile DeleteConflictException).
func TestInstanceProfileLifecycle(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	createRole(t, c, "web-instance")
	createRole(t, c, "other")
	out, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-instance"),
		Tags: []types.Tag{{Key: aws.String("opsctl:cluster"), Value: aws.String("web")}}})
	if err != nil {
		t.Fatal(err)
	}
	p := out.InstanceProfile
	if aws.ToString(p.Arn) != "arn:aws:iam::000000000000:instance-profile/web-instance" || len(p.Roles) != 0 || aws.ToString(p.Path) != "/" {
		t.Fatalf("%+v", p)
	}
	_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("web-instance")})
	var exists *types.EntityAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("want EntityAlreadyExists, got %v", err)
	}
	if _, err := c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-instance"), RoleName: aws.String("web-instance")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("web-instance"), RoleName: aws.String("other")})
	var limit *types.LimitExceededException
	if !errors.As(err, &limit) {
		t.Fatalf("want LimitExceeded (one role per profile), got %v", err)
	}
	_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("nope"), RoleName: aws.String("other")})
	var missing *types.NoSuchEntityException
	if !errors.As(err, &missing) {
		t.Fatalf("want NoSuchEntity, got %v", err)
	}
	got, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-instance")})
	if err != nil || len(got.InstanceProfile.Roles) != 1 || aws.ToString(got.InstanceProfile.Roles[0].RoleName) != "web-instance" || len(got.InstanceProfile.Tags) != 1 {
		t.Fatalf("%v %+v", err, got)
	}
	list, err := c.ListInstanceProfilesForRole(ctx, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String("web-instance")})
	if err != nil || len(list.InstanceProfiles) != 1 {
		t.Fatalf("%v %+v", err, list)
	}
	// Neither the role nor the profile can go while they are joined.
	var conflict *types.DeleteConflictException
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web-instance")})
	if !errors.As(err, &conflict) {
		t.Fatalf("want DeleteConflict for the role, got %v", err)
	}
	_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web-instance")})
	if !errors.As(err, &conflict) {
		t.Fatalf("want DeleteConflict for the profile, got %v", err)
	}
	if _, err := c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web-instance"), RoleName: aws.String("web-instance")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: aws.String("web-instance"), RoleName: aws.String("web-instance")})
	if !errors.As(err, &missing) {
		t.Fatalf("want NoSuchEntity, got %v", err)
	}
	if _, err := c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String("web-instance")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-instance")})
	if !errors.As(err, &missing) {
		t.Fatalf("want NoSuchEntity, got %v", err)
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("web-instance")}); err != nil {
		t.Fatal(err)
	}
}
