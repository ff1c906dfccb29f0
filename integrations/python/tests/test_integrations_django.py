"""The Django integration (function views and Django REST framework ViewSets) against a real
Django app served by wsgiref on 127.0.0.1."""


import pytest

from tsutil import needs_native
from webapps import AppServers, library_entries, traces_in

pytest.importorskip("django")
pytest.importorskip("rest_framework")
pytestmark = needs_native

APP = '''
import sys
import django
from django.conf import settings

settings.configure(
    DEBUG=False, SECRET_KEY="test-only", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={}, MIDDLEWARE=[], LOGGING_CONFIG=None,
    REST_FRAMEWORK={"UNAUTHENTICATED_USER": None, "DEFAULT_AUTHENTICATION_CLASSES": [],
                    "DEFAULT_PERMISSION_CLASSES": []},
    TRACESNAP={"output_dir": "traces", "source_files": [__file__]},
)
django.setup()

from django.http import Http404, JsonResponse
from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from tracesnap.integrations.django import traced

STOCK = {"A1": 3, "B2": 0}


@traced
def checkout(request):
    items = [int(x) for x in request.GET.get("items", "1,2").split(",")]
    total = sum(items)
    return JsonResponse({"total": total})


@traced(name="lookup")
def lookup(request, sku):
    if sku not in STOCK:
        raise Http404("no such product")
    return JsonResponse({"sku": sku, "stock": STOCK[sku]})


class ProductSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=4)
    stock = serializers.IntegerField(min_value=0)


class BaseProducts(viewsets.ViewSet):
    def create(self, request):
        serializer = ProductSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        STOCK[serializer.validated_data["sku"]] = serializer.validated_data["stock"]
        return Response(serializer.validated_data, status=201)


class ProductViewSet(BaseProducts):
    @traced
    @action(detail=False, methods=["get"], url_path="low-stock")
    def low_stock(self, request):
        low = [sku for sku, count in STOCK.items() if count < 2]
        return Response({"low": low})

    @traced
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)


router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")
urlpatterns = [path("checkout", checkout), path("lookup/<str:sku>", lookup), path("", include(router.urls))]

if __name__ == "__main__":
    from wsgiref.simple_server import WSGIRequestHandler, make_server
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    make_server("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), handler_class=Quiet).serve_forever()
'''


@pytest.fixture
def app(tmp_path):
    with AppServers(tmp_path, "django_shop.py", APP) as start:
        yield start


def test_function_views_with_real_statuses(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/checkout?items=2,3") == (200, '{"total": 5}')
    assert server.get("/lookup/ZZ")[0] == 404
    traces = {t["session"]["entry"]: t for t in traces_in(tmp_path / "traces")}
    request = traces["checkout"]["session"]["request"]
    assert {k: request[k] for k in ("method", "path", "route", "query", "status")} == {
        "method": "GET", "path": "/checkout", "route": "checkout", "query": "items=2,3", "status": 200}
    assert any(e["type"] == "assign" and e["var"] == "total" and e["value"]["repr"] == "5"
               for e in traces["checkout"]["events"])
    assert traces["lookup"]["session"]["request"]["status"] == 404
    assert traces["lookup"]["trace_id"].startswith("lookup-")
    assert {e["kind"] for e in library_entries(tmp_path / "home")} == {"request"}


def test_drf_actions_and_inherited_actions(app, tmp_path):
    server = app(TRACESNAP_ENABLED="1")
    assert server.get("/products/low-stock/") == (200, '{"low":["B2"]}')
    assert server.get("/products/", method="POST", body={"sku": "C3", "stock": 5})[0] == 201
    assert server.get("/products/", method="POST", body={"sku": "TOO-LONG", "stock": -1})[0] == 400
    traces = traces_in(tmp_path / "traces")
    by_entry = {}
    for trace in traces:
        by_entry.setdefault(trace["session"]["entry"], []).append(trace)
    low = by_entry["ProductViewSet.low_stock"][0]
    assert low["session"]["request"]["status"] == 200
    created, invalid = by_entry["ProductViewSet.create"]
    assert created["session"]["request"]["status"] == 201
    assert invalid["session"]["request"]["status"] == 400 and "ValidationError" in invalid["session"]["request"]["error"]
    # the inherited action's own code (BaseProducts.create) is in the trace
    assert [e["func"] for e in created["events"] if e["type"] == "call"][:2] == ["create", "create"]


def test_disabled_records_nothing(app, tmp_path):
    server = app()
    assert server.get("/checkout")[0] == 200
    assert not (tmp_path / "traces").exists()
