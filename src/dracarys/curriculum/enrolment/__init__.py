"""Enrolment: joining and leaving cohorts; who is a member, who is a learner."""
