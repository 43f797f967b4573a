// Package testutil has builders and waiting helpers shared by tests.
package testutil

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	rotationsv1 "github.com/handson-dev/rotation-operator/api/v1alpha1"
)

// RotationBuilder builds LearningRotations for tests:
// testutil.Rotation("alice").Learner("alice@example.com").Mentors("bob").Obj().
type RotationBuilder struct{ lr rotationsv1.LearningRotation }

// Rotation starts a rotation with a learner named after it.
func Rotation(name string) *RotationBuilder {
	return &RotationBuilder{lr: rotationsv1.LearningRotation{
		TypeMeta:   metav1.TypeMeta{APIVersion: rotationsv1.GroupVersion.String(), Kind: "LearningRotation"},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: rotationsv1.LearningRotationSpec{
			Learner: rotationsv1.Learner{Subject: rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: name + "@example.com"}},
		},
	}}
}

// Learner sets the learner user.
func (b *RotationBuilder) Learner(user string) *RotationBuilder {
	b.lr.Spec.Learner.Subject = rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: user}
	return b
}

// LearnerGroup sets a learner group.
func (b *RotationBuilder) LearnerGroup(group string) *RotationBuilder {
	b.lr.Spec.Learner.Subject = rotationsv1.Subject{Kind: rotationsv1.GroupKind, Name: group}
	return b
}

// NoKubeconfig turns off the ServiceAccount kubeconfig.
func (b *RotationBuilder) NoKubeconfig() *RotationBuilder {
	f := false
	b.lr.Spec.Learner.IssueKubeconfig = &f
	return b
}

// Mentors adds mentor users.
func (b *RotationBuilder) Mentors(users ...string) *RotationBuilder {
	for _, u := range users {
		b.lr.Spec.Mentors = append(b.lr.Spec.Mentors, rotationsv1.Subject{Kind: rotationsv1.UserKind, Name: u})
	}
	return b
}

// Exercises selects exercises by name.
func (b *RotationBuilder) Exercises(names ...string) *RotationBuilder {
	for _, n := range names {
		b.lr.Spec.Exercises.Names = append(b.lr.Spec.Exercises.Names, rotationsv1.ExerciseName(n))
	}
	return b
}

// Tracks selects exercises by track.
func (b *RotationBuilder) Tracks(tracks ...rotationsv1.Track) *RotationBuilder {
	b.lr.Spec.Exercises.Tracks = append(b.lr.Spec.Exercises.Tracks, tracks...)
	return b
}

// Duration sets the schedule's duration.
func (b *RotationBuilder) Duration(d time.Duration) *RotationBuilder {
	b.lr.Spec.Schedule.Duration = &metav1.Duration{Duration: d}
	return b
}

// Start sets the schedule's start.
func (b *RotationBuilder) Start(t time.Time) *RotationBuilder {
	b.lr.Spec.Schedule.Start = &metav1.Time{Time: t.UTC().Truncate(time.Second)}
	return b
}

// Retention sets how long the lab is kept after the deadline.
func (b *RotationBuilder) Retention(d time.Duration) *RotationBuilder {
	b.lr.Spec.Schedule.Retention = &metav1.Duration{Duration: d}
	return b
}

// Suspend sets spec.suspend.
func (b *RotationBuilder) Suspend(suspend bool) *RotationBuilder {
	b.lr.Spec.Suspend = suspend
	return b
}

// Size sets the size profile.
func (b *RotationBuilder) Size(s rotationsv1.SizeProfile) *RotationBuilder {
	b.lr.Spec.Size = s
	return b
}

// Obj returns a copy of the rotation.
func (b *RotationBuilder) Obj() *rotationsv1.LearningRotation { return b.lr.DeepCopy() }
