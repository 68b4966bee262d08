from django.http import JsonResponse
from django.urls import path


def view(request, name):
    return JsonResponse({"view": "django", "name": name, "method": request.method,
                         "script_name": request.META["SCRIPT_NAME"]})


urlpatterns = [path("view/<str:name>", view)]
