"""A one-file Django + Django REST framework app with recorded views.

    pip install django djangorestframework
    TRACESNAP_ENABLED=1 python examples/django_app.py       # serves http://127.0.0.1:5052
    curl 'http://127.0.0.1:5052/checkout?items=2,3'
    curl 'http://127.0.0.1:5052/books/cheap/'
    curl -X POST -H 'Content-Type: application/json' -d '{"title": "Dune", "price": 900}' http://127.0.0.1:5052/books/
    tracesnap view

Without TRACESNAP_ENABLED=1 the decorator does nothing. In a real project TRACESNAP goes in
settings.py and the views in views.py; here everything is in one file so it runs as is.
"""

import os
import sys

import django
from django.conf import settings

settings.configure(
    DEBUG=True, SECRET_KEY="example-only", ROOT_URLCONF=__name__, ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
    DATABASES={}, MIDDLEWARE=[],
    REST_FRAMEWORK={"UNAUTHENTICATED_USER": None, "DEFAULT_AUTHENTICATION_CLASSES": [],
                    "DEFAULT_PERMISSION_CLASSES": []},
    TRACESNAP={"output_dir": "traces", "source_files": [__file__]},
)
django.setup()

from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework import serializers, viewsets  # noqa: E402
from rest_framework.decorators import action  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.routers import SimpleRouter  # noqa: E402

from tracesnap.integrations.django import traced  # noqa: E402

BOOKS = [{"title": "Emma", "price": 450}, {"title": "Ulysses", "price": 1500}]


@traced
def checkout(request):
    indexes = [int(part) for part in request.GET.get("items", "0").split(",")]
    total = 0
    for index in indexes:
        if index < len(BOOKS):
            total += BOOKS[index]["price"]
    return JsonResponse({"total_cents": total})


class BookSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=80)
    price = serializers.IntegerField(min_value=0)


class BaseBooks(viewsets.ViewSet):
    def list(self, request):
        return Response(BOOKS)

    def create(self, request):
        serializer = BookSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)  # a bad book answers 400, recorded as 400
        BOOKS.append(dict(serializer.validated_data))
        return Response(serializer.validated_data, status=201)


class BookViewSet(BaseBooks):
    @traced
    @action(detail=False, methods=["get"])
    def cheap(self, request):
        cheap = [book for book in BOOKS if book["price"] < 1000]
        return Response(cheap)

    @traced
    def create(self, request, *args, **kwargs):  # an inherited action: override and call super()
        return super().create(request, *args, **kwargs)


router = SimpleRouter()
router.register("books", BookViewSet, basename="book")
urlpatterns = [path("checkout", checkout), path("", include(router.urls))]

if __name__ == "__main__":
    from wsgiref.simple_server import make_server

    from django.core.wsgi import get_wsgi_application

    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "5052"))
    print(f"serving on http://127.0.0.1:{port}  (recording: {os.environ.get('TRACESNAP_ENABLED') == '1'})")
    make_server("127.0.0.1", port, get_wsgi_application()).serve_forever()
