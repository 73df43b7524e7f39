"""URLs of the JSON API, mounted at /api/ by the site's urls.

Around ninja's routes: a 405 answers in the Error envelope too, any other path under /api/ gets
a JSON 404 rather than the HTML page, and the interactive docs need a staff login.
"""

import functools

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.urls import URLPattern, path, re_path
from ninja.openapi.views import openapi_view

from .api import api, refuse
from .api_schemas import ApiError


def not_found(request, path=""):
    return refuse(request, ApiError(404, f"no API endpoint at {request.path}"))


def enveloped_405(view):
    @functools.wraps(view)
    def answer(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 405:
            return response
        allowed = response["Allow"]
        refusal = refuse(
            request, ApiError(405, f"{request.method} is not allowed here; use {allowed}")
        )
        refusal["Allow"] = allowed
        return refusal

    return answer


def docs(request):
    if not settings.ETFSYNC_API_DOCS:
        return not_found(request)
    return staff_member_required(functools.partial(openapi_view, api=api))(request)


def answering_in_json(route: URLPattern) -> URLPattern:
    # ninja's root (/api/ itself) serves only to reverse the API's prefix: a 404 there too.
    view = not_found if route.name == "api-root" else enveloped_405(route.callback)
    return URLPattern(route.pattern, view, route.default_args, route.name)


app_name = "etfs_api"
urlpatterns = [
    *map(answering_in_json, api.urls[0]),
    path("docs", docs, name="docs"),
    re_path(r"^(?P<path>.*)$", not_found),
]
