from __future__ import annotations

from django.contrib import admin

from allreview.audit.admin import AuditedAdmin
from allreview.projects.models import Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


# Who belongs to a project and in which role decides what they see: every change is audited,
# with the project, as the pages' own changes are.
@admin.register(Project)
class ProjectAdmin(AuditedAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    autocomplete_fields = ["user", "project"]
